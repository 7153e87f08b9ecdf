package doctor

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Status is the outcome of one [Check].
type Status int

// The statuses, from best to worst; Skipped means the check could not or
// need not run. The zero Status is "unknown", so a Check left unset never
// reads as ok.
const (
	OK Status = iota + 1
	Warn
	Fail
	Skipped
)

// String returns "ok", "warn", "fail", "skipped" or "unknown".
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}

// MarshalText implements [encoding.TextMarshaler]: the [Status.String] form.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] for the forms
// [Status.MarshalText] writes.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{OK, Warn, Fail, Skipped} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("doctor: unknown status %q: want ok, warn, fail or skipped", b)
}

// severity orders statuses for [Report.Worst]: skipped is no worse than ok.
func (s Status) severity() int {
	switch s {
	case OK:
		return 0
	case Skipped:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return 4 // unknown: a bug, never hidden
}

// The names of the checks, in the order [Run] runs them.
const (
	NameReachability   = "reachability"
	NameClock          = "clock skew"
	NameSession        = "stored session"
	NameAccessToken    = "access token"
	NameRefresh        = "trial refresh"
	NameISV            = "isv" // the one check reported when no ISV credentials are given
	NameISVKey         = "isv key"
	NameISVPublicKey   = "isv public key"
	NameISVAssertion   = "isv assertion"
	NameISVToken       = "isv token"
	NameISVScopes      = "isv scopes"
	NameISVParticipant = "isv participant"
)

// Check is the outcome of one check: what it looked at, what it saw, and
// what to do about it. Saw and Fix never hold a secret.
type Check struct {
	// Name is one of the Name constants.
	Name string `json:"name"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Saw says what the check found, in one line.
	Saw string `json:"saw"`
	// Fix says what to do; empty when there is nothing to do.
	Fix string `json:"fix,omitempty"`
}

// String returns "name: status: saw (fix: …)".
func (c Check) String() string {
	s := c.Name + ": " + c.Status.String() + ": " + c.Saw
	if c.Fix != "" {
		s += " (fix: " + c.Fix + ")"
	}
	return s
}

// newCheck builds a Check with Saw and Fix made safe: one line, secrets
// redacted, cut at 600 bytes.
func newCheck(name string, st Status, saw, fix string) Check {
	return Check{Name: name, Status: st, Saw: clean(saw), Fix: clean(fix)}
}

// clean is the last guard on every text of a report.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = traderapi.RedactText(strings.Join(strings.Fields(s), " "))
	if len(s) > 600 {
		s = strings.ToValidUTF8(s[:600], "") + "…"
	}
	return s
}

// Report is the outcome of [Run]: every check, in order.
type Report struct {
	Checks []Check `json:"checks"`
}

// Worst returns the worst status of the report, ranking fail > warn >
// skipped > ok; OK for an empty report.
func (r Report) Worst() Status {
	worst := OK
	for _, c := range r.Checks {
		if c.Status.severity() > worst.severity() {
			worst = c.Status
		}
	}
	return worst
}

// OK reports whether no check failed (warnings and skips allowed).
func (r Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status != OK && c.Status != Warn && c.Status != Skipped {
			return false
		}
	}
	return true
}

// Find returns the check with the given name.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// MarshalJSON writes {"ok", "status", "checks"}: the verdict first, for
// health endpoints that read no further.
func (r Report) MarshalJSON() ([]byte, error) {
	checks := r.Checks
	if checks == nil {
		checks = []Check{}
	}
	return json.Marshal(struct {
		OK     bool    `json:"ok"`
		Status Status  `json:"status"`
		Checks []Check `json:"checks"`
	}{r.OK(), r.Worst(), checks})
}
