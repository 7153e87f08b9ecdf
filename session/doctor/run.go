package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Run runs every check in a fixed order (see the package documentation)
// and returns the report. It never fails: a check that cannot run is
// skipped, with the reason. Each network step is bounded by
// [Config.Timeout], and ctx bounds the whole run.
func Run(ctx context.Context, cfg Config) Report {
	r := newRunner(cfg)
	defer r.close()
	checks := []func(context.Context) Check{
		r.reachability, r.clockSkew, r.storedSession, r.accessToken, r.trialRefresh,
	}
	if cfg.ISV == nil {
		checks = append(checks, func(context.Context) Check {
			return newCheck(NameISV, Skipped, "no ISV partner credentials given",
				"to check Private Key JWT credentials, give the client ID and the private key file (--client-id, --key)")
		})
	} else {
		checks = append(checks, r.isvKey, r.isvPublicKey, r.isvAssertion, r.isvToken, r.isvScopes, r.isvParticipant)
	}
	var rep Report
	for _, check := range checks {
		rep.Checks = append(rep.Checks, check(ctx))
	}
	return rep
}

// runner runs the checks of one [Run], sharing what one check learns with
// the next (the probe's answer, the stored record, the key, the partner
// token), each computed once. It is used by one goroutine.
type runner struct {
	cfg Config

	probed bool
	probe  probeResult

	loaded bool
	sess   storedSession

	isv isvState
}

func newRunner(cfg Config) *runner { return &runner{cfg: cfg.withDefaults()} }

// close releases what the checks opened (the partner token source).
func (r *runner) close() {
	if r.isv.src != nil {
		_ = r.isv.src.Close()
	}
}

// step returns a context bounded by the per-step timeout.
func (r *runner) step(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.Timeout)
}

// human formats a time for a report: UTC, and relative to now.
func human(now, t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + " (" + relative(now, t) + ")"
}

// relative describes t against now: "in 42m", "3m ago".
func relative(now, t time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + shortDuration(d)
	}
	return shortDuration(-d) + " ago"
}

// shortDuration rounds d to its two largest units: "45s", "3m5s", "1h0m",
// "6d23h".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// errText is an error as report text: one line, without a package prefix.
func errText(err error) string {
	s := err.Error()
	for _, p := range []string{"isv: ", "traderapi: ", "keystore: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}
