package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A started manager follows the stored record of the user it holds now,
// on every store: a Redis store tells it of changes, a file or keychain
// store is polled (Config.Poll).

// followBound is how long a started manager may take to notice a change
// another process stored: a few of the watch's poll periods (250 ms in
// the fleet tests, Config.Poll 50 ms on the file store), never the
// access token's lifetime (an hour here).
const followBound = 10 * time.Second

// TestFollowsTheUserLoggedInNow: a started manager that logs in as
// trader1, then as trader2, follows trader2's record: a logout of trader2
// in another process ends it, as it would for the first user.
func TestFollowsTheUserLoggedInNow(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 1, traderapitest.Options{}, nil)
	if err := f.x.AddUser("trader2", testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	bot := f.ms[0]
	if err := bot.Login(t.Context(), "trader2", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	cli := f.newMember(t, 1, func(_ int, c *session.Config) { c.Username = "trader2" })
	if err := cli.Logout(t.Context()); err != nil {
		t.Fatalf("Logout of trader2 elsewhere: %v", err)
	}
	waitFor(t, followBound, "the bot to learn of trader2's logout", func() bool {
		_, err := bot.Token(t.Context())
		return errors.Is(err, session.ErrNotLoggedIn)
	})
}

// TestAdoptionClearsFailures: a manager whose refresh failed takes up the
// token another process refreshed: its failure streak is over (Status
// shows no failure, and its next failure backs off as the first).
func TestAdoptionClearsFailures(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 2, traderapitest.Options{}, nil)
	a, b := f.ms[0], f.ms[1]
	f.x.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
	if err := a.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh under a 503 succeeded")
	}
	if st := a.Status(); st.Failures != 1 || st.Retrying == nil {
		t.Fatalf("after a failed refresh: Failures %d, Retrying %v", st.Failures, st.Retrying)
	}
	f.x.ClearFaults()
	if err := b.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	gen := b.Status().Generation
	waitFor(t, followBound, "the failed manager to take up the new token", func() bool { return a.Status().Generation == gen })
	if st := a.Status(); st.Failures != 0 || st.Retrying != nil {
		t.Fatalf("after taking up another process's token: Failures %d, Retrying %v; want 0, nil", st.Failures, st.Retrying)
	}
}

// TestEndedSessionRecoversOnFileStore: a started bot on the file store
// whose session ended (refresh token rejected, no relogin) takes up the
// login a person stored in another process, without a restart.
func TestEndedSessionRecoversOnFileStore(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	store, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	newManager := func() *session.Manager {
		client, err := srv.Client()
		if err != nil {
			t.Fatal(err)
		}
		m, err := session.New(session.Config{Client: client, Store: store, Username: testUser, Poll: 50 * time.Millisecond,
			Retry: session.Retry{Attempts: 2, BaseDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxElapsed: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	bot, person := newManager(), newManager()
	if err := bot.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := bot.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv.RevokeRefreshTokens(testUser)
	if err := bot.Refresh(t.Context()); !errors.Is(err, session.ErrSessionExpired) {
		t.Fatalf("Refresh with a revoked refresh token = %v, want ErrSessionExpired", err)
	}
	if err := person.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	want, _ := person.Token(t.Context())
	waitFor(t, followBound, "the bot to take up the person's login", func() bool {
		tok, err := bot.Token(t.Context())
		return err == nil && tok == want
	})
}
