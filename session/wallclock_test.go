package session_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestWallClockJumpRechecksToken: after a jump of the wall clock far
// beyond the monotonic one (a laptop's sleep), the background refresher
// re-checks the token by the wall clock and refreshes it, instead of
// serving a token that has expired.
func TestWallClockJumpRechecksToken(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Round(0).Add(time.Duration(offset.Load())) }
	f := setup(t, traderapitest.Options{}, session.Config{Now: clock, ClockCheck: 20 * time.Millisecond})
	old := f.login(t)
	if err := f.m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(2 * time.Hour)) // slept two hours: the 1 h token is dead
	waitFor(t, 10*time.Second, "a refresh after the clock jump", func() bool { return f.srv.Calls(traderapi.PathRefresh) == 1 })
	tok, err := f.m.Token(t.Context())
	if err != nil || tok == old {
		t.Fatalf("Token after the jump: new token %v, err %v", tok != old, err)
	}
	if err := f.m.Close(); err != nil || !errors.Is(f.m.Start(t.Context()), session.ErrClosed) {
		t.Fatalf("Start after Close should fail with ErrClosed")
	}
}

// TestClientClockIsTheManagers: a clock given to the client alone
// (traderapi.WithClock) is the manager's too, so that one clock is set in
// one place: the expiry it reports is measured on that clock.
func TestClientClockIsTheManagers(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	ahead := func() time.Time { return time.Now().Add(24 * time.Hour) }
	client, err := traderapi.NewClient(srv.Environment(), traderapi.WithClock(ahead))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	if exp := m.Status().AccessExpiry; exp.Before(time.Now().Add(23 * time.Hour)) {
		t.Fatalf("access expiry %s is on the machine's clock, not the client's (a day ahead)", exp)
	}
}
