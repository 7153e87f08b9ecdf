package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// relative describes t against now: "in 42m", "expired 3m ago".
func relative(now, t time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + shortDuration(d)
	}
	return "expired " + shortDuration(-d) + " ago"
}

// shortDuration rounds d to its two largest units: "45s", "42m",
// "1h0m", "6d23h".
func shortDuration(d time.Duration) string {
	if d < time.Minute-time.Second/2 {
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	}
	r := d.Round(time.Minute)
	switch {
	case r < time.Hour:
		return fmt.Sprintf("%dm", int(r/time.Minute))
	case r < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(r/time.Hour), int(r%time.Hour/time.Minute))
	}
	r = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", int(r/(24*time.Hour)), int(r%(24*time.Hour)/time.Hour))
}

// clock formats a time for people: local date and time.
func clock(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

// when is "2026-11-23 13:04:05 UTC (in 59m)", or "unknown" for a zero time.
func when(now, t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return clock(t) + " (" + relative(now, t) + ")"
}
