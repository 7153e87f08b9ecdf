package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// refreshHeld starts a forced refresh whose answer the exchange holds
// after it has applied it; it returns the hold and the refresh's result.
func refreshHeld(t *testing.T, f *fixture) (*traderapitest.Hold, <-chan error) {
	t.Helper()
	h := f.srv.Hold(traderapi.PathRefresh)
	done := make(chan error, 1)
	go func() { done <- f.m.Refresh(context.Background()) }()
	select {
	case <-h.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh never reached the exchange")
	}
	return h, done
}

// TestRefreshInFlightDoesNotUndoLogout: a refresh the exchange has
// answered, arriving after Logout returned, publishes and stores nothing,
// and Relogin is never called after Logout.
func TestRefreshInFlightDoesNotUndoLogout(t *testing.T) {
	t.Parallel()
	var relogins atomic.Int32
	f := setup(t, traderapitest.Options{}, session.Config{Relogin: func(context.Context, string) (session.Credentials, error) {
		relogins.Add(1)
		return session.Credentials{Username: testUser, Password: testPassword}, nil
	}})
	f.login(t)
	h, done := refreshHeld(t, f)
	if err := f.m.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	h.Release()
	if err := <-done; err == nil {
		t.Fatal("the refresh that lost to Logout reported success")
	}
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Token after Logout = %v, want ErrNotLoggedIn", err)
	}
	wantLoggedOut(t, f.store, keystore.Key{Environment: f.m.Status().Environment, Username: testUser})
	if n, l := relogins.Load(), f.srv.Calls(traderapi.PathLogin); n != 0 || l != 1 {
		t.Fatalf("relogins %d, login calls %d after Logout; want 0 and 1", n, l)
	}
}

// TestRefreshInFlightDoesNotUndoLoginAsAnother: a refresh of trader1's
// session in flight while the manager logs in as trader2 does not put
// trader1 back.
func TestRefreshInFlightDoesNotUndoLoginAsAnother(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	if err := f.srv.AddUser("trader2", testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	f.login(t)
	h, done := refreshHeld(t, f)
	if err := f.m.Login(t.Context(), "trader2", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	tok2, _ := f.m.Token(t.Context())
	h.Release()
	<-done
	if got, _ := f.m.Token(t.Context()); got != tok2 || f.m.Status().Username != "trader2" {
		t.Fatalf("after the late refresh: user %q, token is trader2's: %v", f.m.Status().Username, got == tok2)
	}
	if u, _ := f.store.LastUser(t.Context(), f.m.Status().Environment); u != "trader2" {
		t.Fatalf("last user = %q, want trader2", u)
	}
}

// twoManagers returns two managers on one file store, as two processes
// (a bot and the CLI) would have.
func twoManagers(t *testing.T, opts traderapitest.Options) (*traderapitest.Server, *file.Store, *session.Manager, *session.Manager) {
	t.Helper()
	srv := traderapitest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	store, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	var ms [2]*session.Manager
	for i := range ms {
		client, err := traderapi.NewClient(srv.Environment())
		if err != nil {
			t.Fatal(err)
		}
		if ms[i], err = session.New(session.Config{Client: client, Store: store, Username: testUser, Margin: 500 * time.Millisecond, Jitter: -1,
			Retry: session.Retry{Attempts: 2, BaseDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxElapsed: time.Second}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ms[i].Close() })
	}
	return srv, store, ms[0], ms[1]
}

// TestRefreshDoesNotOverwriteNewerLogin: a bot that refreshes after a CLI
// stored a new login adopts that session instead of writing its own over
// it.
func TestRefreshDoesNotOverwriteNewerLogin(t *testing.T) {
	t.Parallel()
	srv, store, bot, cli := twoManagers(t, traderapitest.Options{})
	if err := bot.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := cli.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
	newer, _ := store.Get(t.Context(), key)
	refreshes := srv.Calls(traderapi.PathRefresh)
	if err := bot.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := store.Get(t.Context(), key)
	if err != nil || rec.RefreshToken != newer.RefreshToken {
		t.Fatalf("the bot's refresh replaced the CLI's newer login in the store (%v)", err)
	}
	if tok, _ := bot.Token(t.Context()); tok != newer.AccessToken || srv.Calls(traderapi.PathRefresh) != refreshes {
		t.Fatalf("the bot did not adopt the newer session without a call (refresh calls %d → %d)", refreshes, srv.Calls(traderapi.PathRefresh))
	}
}

// TestExpiredRefreshTokenDoesNotDeleteNewerLogin: when the bot's refresh
// token expires it re-reads the store and takes up the CLI's newer login,
// instead of deleting it.
func TestExpiredRefreshTokenDoesNotDeleteNewerLogin(t *testing.T) {
	t.Parallel()
	srv, store, bot, cli := twoManagers(t, traderapitest.Options{AccessTTL: time.Second, RefreshTTL: 2 * time.Second})
	if err := bot.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cli.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
	newer, _ := store.Get(t.Context(), key)
	time.Sleep(700 * time.Millisecond) // the bot's refresh token has expired
	if _, err := bot.Token(t.Context()); err != nil {
		t.Fatalf("Token after the bot's refresh token expired: %v", err)
	}
	rec, err := store.Get(t.Context(), key)
	if err != nil || rec.RefreshToken != newer.RefreshToken {
		t.Fatalf("the CLI's newer login is gone from the store (%v)", err)
	}
}

// TestStoreThatLostTheRecordIsRefilled: a store that lost the session's
// record (a Redis restarted empty) does not end the session: the next
// refresh stores it again. Only a logout's tombstone ends it.
func TestStoreThatLostTheRecordIsRefilled(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	key := keystore.Key{Environment: f.m.Status().Environment, Username: testUser}
	if err := f.store.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh after the store lost the record: %v", err)
	}
	tok, err := f.m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := f.store.Get(t.Context(), key); err != nil || rec.AccessToken != tok {
		t.Fatalf("the session was not stored again (%v)", err)
	}
}
