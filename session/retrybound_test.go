package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestRefreshRetriesBoundedInTime: with a hundred attempts allowed, an
// exchange that never answers is retried only while MaxElapsed lasts; an
// attempt started before that bound may run out its own client timeout.
func TestRefreshRetriesBoundedInTime(t *testing.T) {
	t.Parallel()
	retry := session.Retry{Attempts: 100, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxElapsed: 700 * time.Millisecond}
	f := newFaultFixture(t, retry)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Latency: 5 * clientTimeout})
	start := time.Now()
	err := f.m.Refresh(t.Context())
	elapsed := time.Since(start)
	if !errors.Is(err, traderapi.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Refresh = %v, want a timeout matching ErrUnreachable", err)
	}
	if bound := retry.MaxElapsed + clientTimeout + 150*time.Millisecond; elapsed > bound {
		t.Errorf("the refresh took %s, over MaxElapsed + one client timeout (%s)", elapsed, bound)
	}
	maxCalls := int(retry.MaxElapsed/clientTimeout) + 1
	if n := f.srv.Calls(traderapi.PathRefresh); n < 2 || n > maxCalls {
		t.Errorf("refresh calls = %d, want 2 to %d within MaxElapsed", n, maxCalls)
	}
	t.Logf("%d calls in %s: %v", f.srv.Calls(traderapi.PathRefresh), elapsed.Round(time.Millisecond), err)
	f.assertIntact(t)
}

// TestRefreshCallerDeadline: a caller's deadline ends its wait, not the
// shared refresh, which still ends within its own budget and then stops
// calling the exchange.
func TestRefreshCallerDeadline(t *testing.T) {
	t.Parallel()
	retry := session.Retry{Attempts: 100, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxElapsed: 500 * time.Millisecond}
	f := newFaultFixture(t, retry)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.m.Refresh(ctx)
	if elapsed := time.Since(start); elapsed > 300*time.Millisecond {
		t.Errorf("Refresh with a 100 ms deadline returned after %s", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Refresh = %v, want the caller's deadline", err)
	}
	// The detached refresh goes on for MaxElapsed, serving the old token.
	if tok, err := f.m.Token(t.Context()); err != nil || tok != f.token {
		t.Errorf("token not served while the refresh retries (err %v)", err)
	}
	time.Sleep(retry.MaxElapsed + 200*time.Millisecond)
	settled := f.srv.Calls(traderapi.PathRefresh)
	time.Sleep(200 * time.Millisecond)
	if n := f.srv.Calls(traderapi.PathRefresh); n != settled || n < 2 {
		t.Errorf("refresh calls %d then %d: the retries did not stop after MaxElapsed (or never ran)", settled, n)
	}
	f.assertIntact(t)
}
