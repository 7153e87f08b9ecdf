package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Issue 10, item 5: a refresh that keeps failing does not hammer the
// exchange (before: 236 refresh calls in 300 ms under a 409).

// hammer has callers goroutines call Token in a loop for d; every call
// must return want. It returns how long it ran.
func hammer(t *testing.T, m *session.Manager, want traderapi.Secret, callers int, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for time.Since(start) < d {
				if tok, err := m.Token(context.Background()); err != nil || tok != want {
					t.Errorf("Token while refreshes fail = %v; want the old token", err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// staleUnderConflict is a logged-in manager whose token has gone stale
// (but is valid for about 2 s more) with every refresh answered 409.
func staleUnderConflict(t *testing.T, retry session.Retry) (*fixture, traderapi.Secret) {
	t.Helper()
	f := setup(t, traderapitest.Options{AccessTTL: 4 * time.Second}, session.Config{Jitter: -1, Retry: retry})
	tok := f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 409})
	waitFor(t, 10*time.Second, "the token to go stale", func() bool { return f.m.Status().Stale })
	f.srv.ResetCounters()
	return f, tok
}

// maxFlights is the most flights that can start within d when the nth
// failure in a row waits at least min(cooldown·2ⁿ⁻¹, ceiling)/2 (the
// back-off is jittered over its upper half).
func maxFlights(d, cooldown, ceiling time.Duration) int {
	n, at := 1, time.Duration(0)
	for {
		at += min(cooldown<<(n-1), ceiling) / 2
		if at > d {
			return n
		}
		n++
	}
}

// TestConflictStormIsBounded: four goroutines call Token on a stale token
// for 300 ms while every refresh gets a 409: the old token is served
// throughout and the refresh calls stay within what the cooldown allows
// (a handful), each failed flight making one call.
func TestConflictStormIsBounded(t *testing.T) {
	t.Parallel()
	retry := session.Retry{Attempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
		MaxElapsed: 5 * time.Second, Cooldown: 20 * time.Millisecond, MaxCooldown: time.Second}
	f, tok := staleUnderConflict(t, retry)
	ran := hammer(t, f.m, tok, 4, 300*time.Millisecond)
	calls := f.srv.Calls(traderapi.PathRefresh)
	limit := maxFlights(ran, retry.Cooldown, retry.MaxCooldown)
	t.Logf("409 storm: %d refresh calls in %s (cooldown allows at most %d)", calls, ran.Round(time.Millisecond), limit)
	if calls < 1 || calls > limit { // the bound is the protocol's upper one; how many fit depends on the machine
		t.Errorf("%d refresh calls in %s; want between 1 and %d", calls, ran.Round(time.Millisecond), limit)
	}
	// A flight whose call the exchange has counted may not have recorded
	// its failure yet: wait until every call is one failure.
	var st session.Status
	waitFor(t, 10*time.Second, "each 409 to count as one failure", func() bool {
		st = f.m.Status()
		return st.Failures == f.srv.Calls(traderapi.PathRefresh)
	})
	var ae *traderapi.APIError
	if !errors.As(st.Retrying, &ae) || ae.StatusCode != 409 {
		t.Errorf("Status().Retrying = %v, want the 409", st.Retrying)
	}
}

// TestDefaultCooldownBoundsCallsPerMinute: with the default cooldown (5 s,
// doubling, jittered over its upper half, capped at 5 min) a 300 ms Token
// storm makes one refresh call; a caller whose token has expired gets the
// last error at once, with no call. From the measured calls per flight and
// the back-off schedule, a process makes at most 5 calls a minute.
func TestDefaultCooldownBoundsCallsPerMinute(t *testing.T) {
	t.Parallel()
	retry := session.Retry{Attempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxElapsed: 5 * time.Second}
	f, tok := staleUnderConflict(t, retry)
	ran := hammer(t, f.m, tok, 4, 300*time.Millisecond)
	calls, st := f.srv.Calls(traderapi.PathRefresh), f.m.Status()
	t.Logf("409 storm, default cooldown: %d refresh calls, %d failed flights in %s", calls, st.Failures, ran.Round(time.Millisecond))
	if calls != 1 || st.Failures != 1 {
		t.Fatalf("%d calls, %d failures; want 1 and 1 (the first cooldown is at least 2.5 s)", calls, st.Failures)
	}
	session.ExpireNow(f.m)
	_, err := f.m.Token(t.Context())
	var ae *traderapi.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 409 || errors.Is(err, session.ErrSessionExpired) {
		t.Errorf("Token with an expired token during the cooldown = %v; want the last 409", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Errorf("refresh calls = %d after the expired caller, want 1 (cooling down)", n)
	}
	perFlight := calls / st.Failures
	perMinute := perFlight * maxFlights(time.Minute, 5*time.Second, 5*time.Minute)
	t.Logf("default cooldown: at most %d call(s) per flight × %d flights = %d refresh calls a minute", perFlight, perMinute/perFlight, perMinute)
	if perMinute > 5 {
		t.Errorf("the default cooldown allows %d refresh calls a minute; want at most 5", perMinute)
	}
}

// TestConflictOnExpiredTokenNoStorm: with the token expired (as after a
// 401) and every refresh answered 409, a Token loop for 300 ms makes one
// refresh call: the callers get the last error during the cooldown (the
// base made 2339 calls).
func TestConflictOnExpiredTokenNoStorm(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 409})
	session.ExpireNow(f.m)
	f.srv.ResetCounters()
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		if _, err := f.m.Token(context.Background()); err == nil || errors.Is(err, session.ErrSessionExpired) {
			t.Fatalf("Token with an expired token under a 409 = %v; want the 409, session kept", err)
		}
	}
	n := f.srv.Calls(traderapi.PathRefresh)
	t.Logf("expired token under a 409: %d refresh calls in 300 ms", n)
	if n != 1 {
		t.Errorf("%d refresh calls in 300 ms, want 1 (the default cooldown is at least 2.5 s)", n)
	}
}
