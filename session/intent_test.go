package session_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Every write carries its intent: a logout ends the session it read, a
// relogin continues a session that was not logged out, a refresh continues
// the session it began from. These tests put another write between the
// read and the write.

// gatedStore is a store whose next CompareAndSwap, once armed, waits (after
// announcing itself) until released.
type gatedStore struct {
	*keystore.Memory
	armed   chan struct{} // holds one token while armed
	arrived chan struct{}
	release chan struct{}
}

func newGatedStore() *gatedStore {
	return &gatedStore{Memory: keystore.NewMemory(), armed: make(chan struct{}, 1),
		arrived: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedStore) arm() { g.armed <- struct{}{} }

func (g *gatedStore) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	select {
	case <-g.armed:
		close(g.arrived)
		<-g.release
	default:
	}
	return g.Memory.CompareAndSwap(ctx, k, old, r)
}

// liveRefresh reports whether refresh still works on the exchange.
func liveRefresh(t *testing.T, client *traderapi.Client, refresh traderapi.Secret) bool {
	t.Helper()
	_, err := client.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: refresh})
	return err == nil
}

// TestLogoutDuringLoginCommitEndsTheNewSession: Logout begins while a
// Login is storing its session in the same manager. Whichever order the
// two take, the manager's state, the store and the exchange agree: here
// the login commits first, so the logout ends the new session (revoked,
// tombstoned), not the old one the logout read first.
func TestLogoutDuringLoginCommitEndsTheNewSession(t *testing.T) {
	t.Parallel()
	store := newGatedStore()
	f := setup(t, traderapitest.Options{}, session.Config{Store: store})
	f.login(t)
	store.arm()
	loginDone := make(chan error, 1)
	go func() { loginDone <- f.m.Login(context.Background(), testUser, testPassword, "") }()
	<-store.arrived // the login's commit holds the manager's publish lock
	logoutDone := make(chan error, 1)
	go func() { logoutDone <- f.m.Logout(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // let Logout read the current (old) session; any order must be safe
	close(store.release)
	if err := <-loginDone; err != nil {
		t.Fatalf("Login: %v", err)
	}
	if err := <-logoutDone; err != nil {
		t.Fatalf("Logout: %v", err)
	}
	key := keystore.Key{Environment: f.m.Status().Environment, Username: testUser}
	rec, err := store.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.LoggedOut || rec.RefreshToken != "" {
		t.Fatalf("the manager says logged out (%v) but the store holds a live session (generation %d)", f.m.Status().Ended, rec.Generation)
	}
	if n := f.srv.Calls(traderapi.PathLogout); n != 1 {
		t.Fatalf("logout calls = %d, want 1", n)
	}
}

// TestEndedManagerLogoutKeepsNewerLogin: a bot whose session ended (its
// refresh token rejected) shuts down with Logout after a person logged in
// again in another process; the person's session stays, in the store and
// on the exchange.
func TestEndedManagerLogoutKeepsNewerLogin(t *testing.T) {
	t.Parallel()
	srv, store, bot, cli := twoManagers(t, traderapitest.Options{})
	if err := bot.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	srv.RevokeRefreshTokens(testUser)
	if err := bot.Refresh(t.Context()); !errors.Is(err, session.ErrSessionExpired) {
		t.Fatalf("Refresh with a revoked refresh token = %v, want ErrSessionExpired", err)
	}
	if err := cli.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
	human, _ := store.Get(t.Context(), key)
	_ = bot.Logout(t.Context())
	rec, err := store.Get(t.Context(), key)
	if err != nil || rec.RefreshToken != human.RefreshToken {
		t.Fatalf("the ended bot's Logout replaced the person's newer login in the store (%v)", err)
	}
	client, _ := srv.Client()
	if !liveRefresh(t, client, human.RefreshToken) {
		t.Fatal("the ended bot's Logout revoked the person's newer session on the exchange")
	}
}

// TestReloginProxy401KeepsSession: the refresh token is rejected and the
// relogin's login call meets a proxy's HTML 401: that is not the exchange
// refusing the credentials, so the session is kept and the next refresh
// logs in again.
func TestReloginProxy401KeepsSession(t *testing.T) {
	t.Parallel()
	var asked int
	var mu sync.Mutex
	f := setup(t, traderapitest.Options{}, reloginConfig(&asked, &mu))
	tok := f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeRefreshTokens(testUser)
	f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 401, HTML: true, Times: 1})
	err = f.m.Refresh(t.Context())
	if errors.Is(err, session.ErrSessionExpired) || err == nil {
		t.Fatalf("Refresh with a proxy's 401 to the relogin = %v; want a retryable error, not ErrSessionExpired", err)
	}
	assertKept(t, f, rec, tok)
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh once the proxy lets the login through: %v", err)
	}
}

// TestLogoutProxy401IsNotRevoked: a logout whose revoke met a proxy's HTML
// 401 is not a success: the error matches ErrNotRevoked, because the
// refresh token still works on the exchange.
func TestLogoutProxy401IsNotRevoked(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Status: 401, HTML: true, Times: 1})
	err = f.m.Logout(t.Context())
	if !errors.Is(err, session.ErrNotRevoked) {
		t.Fatalf("Logout through a proxy's 401 = %v, want ErrNotRevoked", err)
	}
	if !liveRefresh(t, f.client, rec.RefreshToken) {
		t.Fatal("the refresh token was revoked after all: the test's fault did not block the revoke")
	}
	wantLoggedOut(t, f.store, keystore.Key{Environment: f.m.Status().Environment, Username: testUser})
}

// gate holds the requests to one path until released.
type gate struct {
	path    string
	next    http.RoundTripper
	once    sync.Once
	arrived chan struct{}
	release chan struct{}
}

// hold holds the first caller until release (later ones pass).
func (g *gate) hold() { g.once.Do(func() { close(g.arrived); <-g.release }) }

func newGate(path string) *gate {
	return &gate{path: path, next: http.DefaultTransport, arrived: make(chan struct{}), release: make(chan struct{})}
}

// RoundTrip holds the first request to the gate's path before it is sent.
func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == g.path {
		g.hold()
	}
	return g.next.RoundTrip(r)
}

// TestReloginDoesNotUndoLogoutElsewhere: process A's refresh (or its
// relogin's login) is on the wire when process B logs out; the exchange
// rejects A's refresh token and A has a Relogin, but the session was
// logged out, not lost: A does not store a login over B's logout (a login
// it already made is revoked), and ends logged out itself.
func TestReloginDoesNotUndoLogoutElsewhere(t *testing.T) {
	t.Parallel()
	for _, path := range []string{traderapi.PathRefresh, traderapi.PathLogin} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			reloginAfterLogout(t, path)
		})
	}
}

// reloginAfterLogout runs TestReloginDoesNotUndoLogoutElsewhere with B's
// logout while A's call to path is held.
func reloginAfterLogout(t *testing.T, path string) {
	srv, store, _, cli := twoManagers(t, traderapitest.Options{})
	g := newGate("") // armed once A is logged in
	client, err := srv.Client(traderapi.WithHTTPClient(&http.Client{Transport: g}))
	if err != nil {
		t.Fatal(err)
	}
	var asked int
	var mu sync.Mutex
	cfg := reloginConfig(&asked, &mu)
	cfg.Client, cfg.Store, cfg.Username = client, store, testUser
	a, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	g.path = path
	if path == traderapi.PathLogin {
		srv.RevokeRefreshTokens(testUser)
	}
	refreshed := make(chan error, 1)
	go func() { refreshed <- a.Refresh(context.Background()) }()
	<-g.arrived
	if err := cli.Logout(t.Context()); err != nil && !errors.Is(err, session.ErrNotRevoked) {
		t.Fatalf("Logout in process B: %v", err)
	}
	close(g.release)
	err = <-refreshed
	key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
	rec, gerr := store.Get(t.Context(), key)
	if gerr != nil || !rec.LoggedOut || rec.RefreshToken != "" {
		t.Fatalf("after B's logout, A's relogin (Refresh = %v) stored a live session over the logout (%v)", err, gerr)
	}
	if _, err := a.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("A's Token after the logout elsewhere = %v, want ErrNotLoggedIn", err)
	}
	if live := srv.Calls(traderapi.PathLogin) - srv.Calls(traderapi.PathLogout); path == traderapi.PathRefresh && live != 0 {
		t.Errorf("logins %d, logouts %d: no relogin over a logout", srv.Calls(traderapi.PathLogin), srv.Calls(traderapi.PathLogout))
	} else if path == traderapi.PathLogin && srv.Calls(traderapi.PathLogout) != 2 {
		t.Errorf("logout calls = %d, want 2: the relogin's session that lost to the logout is revoked", srv.Calls(traderapi.PathLogout))
	}
}
