package agent

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// An agent started with no session waits, not ready, with 503s of kind
// "not logged in"; a login made later by another process is taken up
// without a restart and its token served; a logout by that process makes
// the agent refuse again (a file store, which cannot be watched: the agent
// polls it); a new login brings it back.
func TestSocketFollowsLoginLogoutRelogin(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	var e ErrorJSON
	if code := f.get(t, PathToken, &e); code != http.StatusServiceUnavailable || e.Kind != session.KindNotLoggedIn.String() {
		t.Fatalf("before login: %d %+v, want 503 not logged in", code, e)
	}
	if err := f.ag.Ready(); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Ready before login = %v", err)
	}
	cli := f.login(t)
	eventually(t, "the agent to take up the login", func() bool { return f.ag.Ready() == nil })
	var tok TokenJSON
	if code := f.get(t, PathToken, &tok); code != http.StatusOK {
		t.Fatalf("after login: %d", code)
	}
	if u, err := f.ex.Authenticate(tok.Token); err != nil || u != testUser {
		t.Fatalf("served token authenticates as %q, %v", u, err)
	}
	exp, err := time.Parse(time.RFC3339, tok.Expiry)
	if err != nil || exp.Before(time.Now()) {
		t.Fatalf("expiry %q: %v", tok.Expiry, err)
	}
	if err := cli.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent to see the logout", func() bool { return f.ag.Ready() != nil })
	if code := f.get(t, PathToken, &e); code != http.StatusServiceUnavailable || e.Kind != session.KindNotLoggedIn.String() {
		t.Fatalf("after logout: %d %+v", code, e)
	}
	f.login(t)
	eventually(t, "the agent to take up the new login", func() bool { return f.ag.Ready() == nil })
}

// /v1/status says whose session it is and whether a token is held;
// /v1/isv/token without ISV credentials is a 404 naming the flags.
func TestSocketStatusAndNoISV(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	f.login(t)
	eventually(t, "ready", func() bool { return f.ag.Ready() == nil })
	var st StatusJSON
	if code := f.get(t, PathStatus, &st); code != http.StatusOK || !st.Ready || st.Username != testUser ||
		st.Environment != f.ex.Environment().Name || st.AccessExpiresAt == nil || st.Keystore != "file" {
		t.Fatalf("status %d %+v", code, st)
	}
	var e ErrorJSON
	if code := f.get(t, PathISVToken, &e); code != http.StatusNotFound || e.Error != ErrNoISV.Error() {
		t.Fatalf("isv token without credentials: %d %+v", code, e)
	}
}

// The socket's directory is 0700 and the socket 0600; a directory others
// may enter is refused; a live agent's socket is not taken over, a stale
// one is replaced.
func TestListenModesAndStaleSocket(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	dfi, _ := os.Stat(filepath.Dir(f.sock))
	sfi, _ := os.Stat(f.sock)
	if dfi.Mode().Perm() != 0o700 || sfi.Mode().Perm() != 0o600 {
		t.Fatalf("dir %v socket %v, want 0700 and 0600", dfi.Mode(), sfi.Mode())
	}
	if _, err := Listen(f.sock); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second Listen on a live socket = %v, want ErrAgentRunning", err)
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(open, "a.sock")); err == nil {
		t.Fatal("Listen in a 0755 directory succeeded")
	}
	stale := filepath.Join(t.TempDir(), "run", "s.sock")
	l, err := Listen(stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	l.Close() // a crashed agent's file stays
	l2, err := Listen(stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
}
