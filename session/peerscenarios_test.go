//go:build unix

package session_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// The scenarios of issue 16 that meet across processes, each run with
// real processes (peers) on a file store and on a real redis-server.

// onEveryStore runs f as a parallel subtest on each kind of store, with
// an exchange of its own.
func onEveryStore(t *testing.T, opts traderapitest.Options, f func(t *testing.T, srv *traderapitest.Server, st peerStore)) {
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, newPeerExchange(t, opts), newPeerStore(t, kind))
		})
	}
}

// newPeerExchange starts the exchange with testUser and trader2.
func newPeerExchange(t *testing.T, opts traderapitest.Options) *traderapitest.Server {
	t.Helper()
	srv := traderapitest.NewServer(opts)
	t.Cleanup(srv.Close)
	for _, u := range []string{testUser, "trader2"} {
		if err := srv.AddUser(u, testPassword.Reveal()); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// requestGate is a proxy in front of the exchange that, once armed, holds
// the next request to a path before the exchange sees it.
type requestGate struct {
	*httptest.Server
	mu      sync.Mutex
	path    string
	arrived chan struct{}
	release chan struct{}
}

func newRequestGate(t *testing.T, srv *traderapitest.Server) *requestGate {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	g := &requestGate{arrived: make(chan struct{}), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		held := g.path != "" && r.URL.Path == g.path
		if held {
			g.path = ""
		}
		g.mu.Unlock()
		if held {
			close(g.arrived)
			<-g.release
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { g.open(); g.Close() })
	return g
}

func (g *requestGate) arm(path string) { g.mu.Lock(); g.path = path; g.mu.Unlock() }

func (g *requestGate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// TestPeersReloginDoesNotUndoLogoutElsewhere (scenario 2): process A, with
// a Relogin, has its refresh on the wire when process B logs out; the
// exchange rejects A's refresh token; A does not log in again over B's
// logout: the store keeps the logout, A says not logged in, and no
// session is left live on the exchange.
func TestPeersReloginDoesNotUndoLogoutElsewhere(t *testing.T) {
	t.Parallel()
	onEveryStore(t, traderapitest.Options{}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		gate := newRequestGate(t, srv)
		a := startPeer(t, "A", srv, gate.URL, st, testUser, 0, true)
		a.must("login " + testUser)
		b := startPeer(t, "B", srv, srv.URL, st, testUser, 0, false)
		b.must("resume")
		gate.arm(traderapi.PathRefresh)
		a.send("refresh")
		<-gate.arrived
		b.must("logout")
		gate.open()
		t.Logf("A's refresh after B's logout: %s", a.answer())
		rec, err := st.open(t).Get(t.Context(), keystore.Key{Environment: srv.Environment().Name, Username: testUser})
		if err != nil || !rec.LoggedOut || rec.RefreshToken != "" {
			t.Fatalf("after B's logout, A stored a live session over it (record %+v, %v)", rec, err)
		}
		if got := a.do("token"); !strings.HasPrefix(got, "err not logged in") {
			t.Errorf("A's token after the logout elsewhere: %s, want not logged in", got)
		}
		if live := srv.Calls(traderapi.PathLogin) - srv.Calls(traderapi.PathLogout); live != 0 {
			t.Errorf("%d logins, %d logouts: a relogin's session is live after the logout", srv.Calls(traderapi.PathLogin), srv.Calls(traderapi.PathLogout))
		}
	})
}

// TestPeersFollowTheUserLoggedInNow (scenario 4): a started process that
// logged in as trader1, then as trader2, ends when another process logs
// trader2 out.
func TestPeersFollowTheUserLoggedInNow(t *testing.T) {
	t.Parallel()
	onEveryStore(t, traderapitest.Options{}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		a := startPeer(t, "A", srv, srv.URL, st, "", 0, false)
		a.must("login " + testUser)
		a.must("start")
		a.must("login trader2")
		b := startPeer(t, "B", srv, srv.URL, st, "trader2", 0, false)
		b.must("resume")
		b.must("logout")
		deadline := time.Now().Add(followBound)
		for got := a.do("token"); !strings.HasPrefix(got, "err not logged in"); got = a.do("token") {
			if time.Now().After(deadline) {
				t.Fatalf("A still answers %q %s after trader2's logout elsewhere", got[:min(len(got), 12)], followBound)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestPeersRefuseARollback (scenario 9): a live session's stored record is
// copied (the files, or the Redis hash), the session is logged out in
// another process with the revoke blocked (its refresh token still works),
// and the copy is written back. A new process on the machine that saw the
// logout refuses it: no token, no refresh call.
func TestPeersRefuseARollback(t *testing.T) {
	t.Parallel()
	onEveryStore(t, traderapitest.Options{}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		startPeer(t, "A", srv, srv.URL, st, testUser, 0, false).must("login " + testUser)
		restore := copyStoredSession(t, st, srv.Environment().Name)
		srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Status: 503})
		b := startPeer(t, "B", srv, srv.URL, st, testUser, 0, false)
		b.must("resume")
		if got := b.do("logout"); !strings.HasPrefix(got, "err notrevoked") {
			t.Fatalf("B's logout with the revoke blocked: %s, want not revoked", got)
		}
		srv.ClearFaults()
		restore()
		refreshes := srv.Calls(traderapi.PathRefresh)
		c := startPeer(t, "C", srv, srv.URL, st, testUser, 0, false)
		if got := c.do("resume"); !strings.HasPrefix(got, "err rolledback") {
			t.Fatalf("C's resume of the written-back copy: %s, want rolled back", got)
		}
		if got := c.do("token"); !strings.HasPrefix(got, "err") {
			t.Errorf("C served a token from the rolled-back record")
		}
		if n := srv.Calls(traderapi.PathRefresh) - refreshes; n != 0 {
			t.Errorf("%d refresh calls from the rolled-back record, want 0", n)
		}
	})
}

// copyStoredSession copies testUser's stored session as someone with
// write access to the store but no key could, and returns what writes the
// copy back.
func copyStoredSession(t *testing.T, st peerStore, env string) func() {
	t.Helper()
	if st.rs == nil {
		dir := strings.TrimPrefix(st.spec, "file:")
		files := snapshot(t, dir)
		return func() { writeBack(t, files) }
	}
	rdb := st.rs.Client(t)
	key := "pmx:v1:{" + env + ":" + testUser + "}:session"
	dump, err := rdb.Dump(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("DUMP %s: %v", key, err)
	}
	return func() {
		if err := rdb.RestoreReplace(t.Context(), key, 0, dump).Err(); err != nil {
			t.Fatalf("RESTORE %s: %v", key, err)
		}
	}
}

// TestPeersClockSkew: two processes sharing a store, one whose clock runs
// 3 minutes ahead of the exchange's and one 3 minutes behind, serve
// tokens for three lifetimes of 4 s tokens: no token either hands out has
// expired on the exchange, and together they refresh about once per
// refresh period (2 s), as one process would. Each measured its offset.
func TestPeersClockSkew(t *testing.T) {
	if testing.Short() {
		t.Skip("three token lifetimes (12 s)")
	}
	t.Parallel()
	const ttl = 4 * time.Second
	onEveryStore(t, traderapitest.Options{AccessTTL: ttl}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		peers := []*peer{
			startPeer(t, "behind", srv, srv.URL, st, testUser, -3*time.Minute, false),
			startPeer(t, "ahead", srv, srv.URL, st, testUser, 3*time.Minute, false),
		}
		for _, p := range peers { // each measures its clock at its login
			p.must("login " + testUser)
		}
		for _, p := range peers {
			p.must("start")
		}
		refreshes := srv.Calls(traderapi.PathRefresh)
		served, expired := 0, 0
		for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			for _, p := range peers {
				tok := p.must("token")
				served++
				if _, err := srv.Authenticate(tok); err != nil && strings.Contains(err.Error(), "expired") {
					expired++
				}
			}
		}
		n := srv.Calls(traderapi.PathRefresh) - refreshes
		for _, p := range peers {
			off := strings.Fields(p.must("offset"))
			d, err := time.ParseDuration(off[0])
			if err != nil || off[1] != "true" || (d.Abs()-3*time.Minute).Abs() > 2*time.Second {
				t.Errorf("%s measured its clock offset as %v, want about 3 min", p.name, off)
			}
		}
		t.Logf("%d tokens served by two processes 3 min apart, %d expired; %d refresh calls in %s (refresh period %s)",
			served, expired, n, 3*ttl, ttl/2)
		if expired != 0 || served == 0 {
			t.Errorf("%d of %d tokens served had expired", expired, served)
		}
		if periods := int(3 * ttl / (ttl / 2)); n > periods+1 {
			t.Errorf("%d refresh calls in %d refresh periods: the skewed clocks made extra refreshes", n, periods)
		}
	})
}

// TestPeersEndedBotLeavesANewerLogin (scenario 3): a bot whose session
// ended (its refresh token rejected) meets a person who logged in again
// in another process; the bot shuts down with Logout. The person's newer
// session stays, in the store and on the exchange.
func TestPeersEndedBotLeavesANewerLogin(t *testing.T) {
	t.Parallel()
	onEveryStore(t, traderapitest.Options{}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		bot := startPeer(t, "bot", srv, srv.URL, st, testUser, 0, false)
		bot.must("login " + testUser)
		srv.RevokeRefreshTokens(testUser)
		if got := bot.do("refresh"); !strings.HasPrefix(got, "err session ended") {
			t.Fatalf("the bot's refresh with its refresh token revoked: %s, want session ended", got)
		}
		startPeer(t, "person", srv, srv.URL, st, testUser, 0, false).must("login " + testUser)
		key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
		human, err := st.open(t).Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the ended bot's logout: %s", bot.do("logout"))
		rec, err := st.open(t).Get(t.Context(), key)
		if err != nil || rec.RefreshToken != human.RefreshToken || rec.LoggedOut {
			t.Fatalf("the ended bot's logout replaced the person's newer login in the store (%v)", err)
		}
		client, _ := srv.Client()
		if !liveRefresh(t, client, human.RefreshToken) {
			t.Fatal("the ended bot's logout revoked the person's newer session on the exchange")
		}
	})
}

// TestPeersTakeUpClearsFailures (scenario 8): a started process whose
// refresh failed takes up the token another process refreshed: its
// failure streak is over.
func TestPeersTakeUpClearsFailures(t *testing.T) {
	t.Parallel()
	onEveryStore(t, traderapitest.Options{}, func(t *testing.T, srv *traderapitest.Server, st peerStore) {
		a := startPeer(t, "A", srv, srv.URL, st, testUser, 0, false)
		a.must("login " + testUser)
		a.must("start")
		srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
		if got := a.do("refresh"); !strings.HasPrefix(got, "err") {
			t.Fatalf("A's refresh under a 503: %s", got)
		}
		if got := a.must("status"); !strings.Contains(got, "failures=1 retrying=true") {
			t.Fatalf("A after a failed refresh: %s", got)
		}
		srv.ClearFaults()
		b := startPeer(t, "B", srv, srv.URL, st, testUser, 0, false)
		b.must("resume")
		b.must("refresh")
		gen := strings.Fields(b.must("status"))[0]
		deadline := time.Now().Add(followBound)
		for got := a.must("status"); !strings.HasPrefix(got, gen+" "); got = a.must("status") {
			if time.Now().After(deadline) {
				t.Fatalf("A did not take up B's token (%s) within %s: %s", gen, followBound, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := a.must("status"); !strings.HasSuffix(got, "failures=0 retrying=false") {
			t.Fatalf("A after taking up B's token: %s, want no failures", got)
		}
	})
}
