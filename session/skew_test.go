package session_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// skewedManager is a manager on store whose clock is off by skew (its
// client stamps with the same clock).
func skewedManager(t *testing.T, srv *traderapitest.Server, store session.Store, skew time.Duration) *session.Manager {
	t.Helper()
	now := func() time.Time { return time.Now().Add(skew) }
	client, err := srv.Client(traderapi.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client, Store: store, Username: testUser, Now: now, Poll: 50 * time.Millisecond,
		Retry: fleetRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestClockSkewSharedStore: two managers sharing a file store, one whose
// clock runs 3 minutes ahead of the exchange's and one 3 minutes behind,
// serve tokens for three lifetimes of 4 s tokens: no token either hands
// out has expired on the exchange, and together they refresh about once
// per refresh period (2 s: the margin is capped at half the lifetime),
// as one manager would. Each shows the offset it measured.
func TestClockSkewSharedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for three token lifetimes (12 s)")
	}
	t.Parallel()
	const ttl = 4 * time.Second
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: ttl})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	store, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	behind, ahead := skewedManager(t, srv, store, -3*time.Minute), skewedManager(t, srv, store, 3*time.Minute)
	for _, m := range []*session.Manager{behind, ahead} { // each measures its clock at its login
		if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*ttl)
	defer cancel()
	refreshes := srv.Calls(traderapi.PathRefresh)
	var mu sync.Mutex
	served, expired := 0, 0
	var wg sync.WaitGroup
	for _, m := range []*session.Manager{behind, ahead} {
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				tok, err := m.Token(ctx)
				if err == nil {
					_, aerr := srv.Authenticate(tok.Reveal())
					mu.Lock()
					served++
					if aerr != nil && strings.Contains(aerr.Error(), "expired") {
						expired++
					}
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	n := srv.Calls(traderapi.PathRefresh) - refreshes
	for name, m := range map[string]*session.Manager{"behind": behind, "ahead": ahead} {
		st := m.Status()
		t.Logf("clock %s: measured offset %s (measured %v)", name, st.ClockOffset.Round(time.Millisecond), st.ClockMeasured)
		if d := st.ClockOffset.Abs() - 3*time.Minute; !st.ClockMeasured || d.Abs() > 2*time.Second {
			t.Errorf("clock %s: offset %s, want about 3 min", name, st.ClockOffset)
		}
	}
	t.Logf("%d tokens served, %d of them expired; %d refresh calls in %s (refresh period %s)", served, expired, n, 3*ttl, ttl/2)
	if expired != 0 || served == 0 {
		t.Errorf("%d of %d tokens served had expired", expired, served)
	}
	if periods := int(3 * ttl / (ttl / 2)); n > periods+1 {
		t.Errorf("%d refresh calls in %d refresh periods: skewed clocks made extra refreshes", n, periods)
	}
}
