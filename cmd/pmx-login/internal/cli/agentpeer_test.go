//go:build linux

package cli

import (
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/tooltest"
	"github.com/pmx-login/pmx-login/session/settings"
)

// envPeerSock, set in a re-executed test binary, makes
// TestAgentPeerHelper ask that socket for a token and print what came back.
const envPeerSock = "PMX_TEST_AGENT_PEER_SOCK"

// TestAgentPeerHelper is the client of another user: it runs only in the
// test binary re-executed by TestAgentRefusesAnotherUser.
func TestAgentPeerHelper(t *testing.T) {
	sock := os.Getenv(envPeerSock)
	if sock == "" {
		t.Skip("helper process only")
	}
	c := unixHTTPClient(sock)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://agent" + agent.PathToken)
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	os.Stdout.WriteString(strconv.Itoa(resp.StatusCode) + " " + string(body))
}

// A client running as another user (nobody; the test runs as root) gets
// no token: with the socket's own modes (directory 0700, socket 0600) it
// cannot even connect; with the modes opened up, the agent's SO_PEERCRED
// check answers 403 and logs the refused uid.
func TestAgentRefusesAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		tooltest.Skip(t, "needs root to run a client as another user", "run the tests as root (CI does)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	r := newAgentRig(t, time.Hour, settings.Settings{})
	r.login(t)
	r.start(t, true)
	dir := reachableDir(t)
	asNobody := func() string {
		cmd := helperproc.AsUser(t, dir, uint32(uid), uint32(gid), []string{envPeerSock + "=" + r.sock},
			"-test.run=^TestAgentPeerHelper$", "-test.count=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper as nobody: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := asNobody(); !strings.Contains(got, "permission denied") {
		t.Fatalf("nobody with the socket's own modes got %q, want permission denied", got)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(filepath.Dir(r.sock)), 0o755}, {filepath.Dir(r.sock), 0o755}, {r.sock, 0o666}} {
		if err := os.Chmod(p.path, p.mode); err != nil {
			t.Fatal(err)
		}
	}
	got := asNobody()
	if !strings.HasPrefix(got, "403 ") || strings.Contains(got, `"token"`) {
		t.Fatalf("nobody through opened modes got %q, want a 403 without a token", got)
	}
	if !strings.Contains(r.stderr.String(), "uid="+nobody.Uid) {
		t.Fatalf("the refusal was not logged with the uid:\n%s", r.stderr)
	}
}

// reachableDir is a temporary directory another user can enter.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's temporary root, then its directory
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
