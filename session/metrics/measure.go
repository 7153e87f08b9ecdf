package metrics

import (
	"github.com/pmx-login/pmx-login/session"
)

// Attr is one attribute of a measurement.
type Attr struct{ Key, Value string }

// Measurement is what one event adds to one instrument: a Counter adds
// Value, a Histogram records it, a Gauge is set to it.
type Measurement struct {
	// Instrument is the OpenTelemetry name from [Table].
	Instrument string
	Value      float64
	Attrs      []Attr
}

// Measure returns what e adds to the instruments of [Table]. It holds no
// state; [TokenRemaining] is not among them (it is computed at collection
// from [TokenExpiry]).
func Measure(e session.Event) []Measurement {
	o := Attr{"origin", string(e.Origin)}
	var out []Measurement
	add := func(name string, v float64, attrs ...Attr) {
		out = append(out, Measurement{name, v, append([]Attr{o}, attrs...)})
	}
	if e.Dropped > 0 {
		add(EventsDropped, float64(e.Dropped))
	}
	switch e.Type {
	case session.EventRefreshSucceeded:
		add(Refreshes, 1, Attr{"result", "success"}, Attr{"reason", string(e.Reason)})
		add(RefreshDuration, e.Duration.Seconds(), Attr{"result", "success"})
		out = append(out, active(o, e)...)
	case session.EventRefreshFailed:
		add(Refreshes, 1, Attr{"result", "failure"}, Attr{"reason", string(e.Reason)})
		add(RefreshFailures, 1, Attr{"kind", kindLabel(e.Kind)})
		add(RefreshDuration, e.Duration.Seconds(), Attr{"result", "failure"})
		if e.NextAttempt.IsZero() && e.Kind != session.KindRejected {
			out = append(out, state(o, "retrying")...)
		}
	case session.EventReloginSucceeded:
		add(Relogins, 1, Attr{"result", "success"})
		out = append(out, active(o, e)...)
	case session.EventReloginFailed:
		add(Relogins, 1, Attr{"result", "failure"})
	case session.EventSessionEnded:
		add(Ended, 1, Attr{"reason", string(e.Reason)})
		add(TokenExpiry, 0)
		out = append(out, state(o, "ended")...)
	case session.EventTokenTakenUp:
		add(TakenUp, 1)
		out = append(out, active(o, e)...)
	case session.EventStoreUnavailable:
		add(StoreOutages, 1)
		add(StoreAvailable, 0)
	case session.EventStoreBack:
		add(StoreAvailable, 1)
	case session.EventLockWaited:
		add(LockWait, e.Duration.Seconds())
	case session.EventUnauthorizedRetried:
		add(UnauthorizedRetrys, 1, Attr{"status", statusClass(e.Status)})
	}
	return out
}

// active: a new token (its expiry) and the state active.
func active(o Attr, e session.Event) []Measurement {
	m := Measurement{TokenExpiry, float64(e.Expiry.UnixNano()) / 1e9, []Attr{o}}
	if e.Expiry.IsZero() {
		m.Value = 0
	}
	return append([]Measurement{m}, state(o, "active")...)
}

// state sets the state gauge: 1 for current, 0 for the others.
func state(o Attr, current string) []Measurement {
	out := make([]Measurement, 0, len(states))
	for _, s := range states {
		v := 0.0
		if s == current {
			v = 1
		}
		out = append(out, Measurement{State, v, []Attr{o, {"state", s}}})
	}
	return out
}
