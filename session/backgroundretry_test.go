package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestBackgroundRetriesOnCooldown: a background refresh that fails is
// tried again when its back-off (Retry.Cooldown, doubling) ends, not on
// the next clock-check tick (an hour here, so only the back-off can
// bring the retries).
func TestBackgroundRetriesOnCooldown(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 2 * time.Second}, session.Config{
		Margin: time.Minute, ClockCheck: time.Hour, Jitter: -1,
		Retry: session.Retry{Attempts: 1, BaseDelay: time.Millisecond, MaxElapsed: time.Second,
			Cooldown: 50 * time.Millisecond, MaxCooldown: 200 * time.Millisecond},
	})
	f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := f.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Stale after 1 s (half the lifetime); then a flight at most every
	// 200 ms: four flights well within 10 s.
	waitFor(t, 10*time.Second, "four background refresh attempts", func() bool { return f.srv.Calls(traderapi.PathRefresh) >= 4 })
	f.srv.ClearFaults()
	waitFor(t, 10*time.Second, "the background refresh to succeed", func() bool { return f.m.Status().Failures == 0 })
}
