package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// The agent as a process, on the file store, with 2 s tokens: a Python
// client (standard library only) asks its socket every 250 ms for 4
// lifetimes and sends each token to the exchange: every call gets a token
// the exchange takes, and the exchange saw one refresh per token. curl
// --unix-socket, `pmx-login token` and `token --json` get the agent's
// token; `status` says it came from the agent; --no-agent goes to the
// store. SIGTERM stops it cleanly (socket removed, session kept).
func TestAgentProcessServesPythonCurlAndCLI(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	r := newAgentRig(t, ttl, settings.Settings{})
	r.login(t)
	r.start(t, true)
	before := r.ex.Calls(traderapi.PathRefresh)
	sum := r.pythonTokens(t, 4*ttl, 250*time.Millisecond)
	refreshes := r.ex.Calls(traderapi.PathRefresh) - before
	if sum.Failures != 0 || sum.Calls < 10 || sum.Distinct < 3 {
		t.Fatalf("python client: %+v", sum)
	}
	// The tokens after the client's first each came from one refresh; the
	// first may too, and so may one issued after its last call.
	if refreshes < sum.Distinct-1 || refreshes > sum.Distinct+1 {
		t.Fatalf("the exchange saw %d refreshes for %d tokens (want one per token)", refreshes, sum.Distinct)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is not installed")
	}
	socketToken := func() agent.TokenJSON {
		out, err := exec.Command(curl, "-sf", "--unix-socket", r.sock, "http://agent"+agent.PathToken).Output()
		var tj agent.TokenJSON
		if err != nil || json.Unmarshal(out, &tj) != nil {
			t.Fatalf("curl: %v %q", err, out)
		}
		return tj
	}
	tj := socketToken()
	if u, err := r.ex.Authenticate(tj.Token); err != nil || u != testUser {
		t.Fatalf("curl's token: %q %v", u, err)
	}
	// The agent refreshes every second (2 s tokens): the CLI's token is the
	// one the socket gave just before it or just after it.
	tok, _, err := r.pmx(t, "token")
	after := socketToken()
	if err != nil || (strings.TrimSpace(tok) != tj.Token && strings.TrimSpace(tok) != after.Token) {
		t.Fatalf("pmx-login token printed another token than the agent's (%v)", err)
	}
	js, _, err := r.pmx(t, "token", "--json")
	var tj2 agent.TokenJSON
	last := socketToken()
	if err != nil || json.Unmarshal([]byte(js), &tj2) != nil || (tj2 != after && tj2 != last) {
		t.Fatalf("token --json: %v", err)
	}
	st, _, err := r.pmx(t, "status")
	if err != nil || !strings.Contains(st, "agent:       "+r.sock) {
		t.Fatalf("status: %v\n%s", err, st)
	}
	if _, _, err := r.pmx(t, "token", "--no-agent"); err != nil {
		t.Fatalf("token --no-agent: %v", err)
	}
	r.stop(t)
	if _, _, err := r.pmx(t, "token"); err != nil {
		t.Fatalf("token with the agent gone (the store): %v", err)
	}
}

// The agent started with no session stored waits, not ready (its socket
// answers 503, the CLI falls back to the store and exits 3), and takes up
// a login made later without a restart.
func TestAgentProcessWaitsForLogin(t *testing.T) {
	t.Parallel()
	r := newAgentRig(t, time.Hour, settings.Settings{})
	r.start(t, false)
	if st, err := r.status(); err != nil || st.Ready || st.Kind != "not logged in" {
		t.Fatalf("before login: %+v %v", st, err)
	}
	if _, _, err := r.pmx(t, "token"); processExit(err) != exitNotLoggedIn {
		t.Fatalf("token before login: %v, want exit %d", err, exitNotLoggedIn)
	}
	r.login(t)
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := r.status(); !st.Ready; st, _ = r.status() {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not take up the login: %+v\n%s", st, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A Python client sends orders through the agent's proxy without a token
// of its own: after the exchange revokes the access token, the next order
// is answered 401, refreshed once and sent once more: the client sees 200.
func TestAgentProcessProxyPython(t *testing.T) {
	t.Parallel()
	py := requirePython(t)
	r := newAgentRig(t, time.Hour, settings.Settings{})
	r.login(t)
	addr := freePort(t)
	r.start(t, true, "--proxy", addr)
	cmd := exec.Command(py, "testdata/agent_client.py", "orders", "http://"+addr)
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	lines := bufio.NewScanner(outp)
	order := func() string {
		fmt.Fprintln(in, "order")
		if !lines.Scan() {
			t.Fatalf("the python client stopped")
		}
		return lines.Text()
	}
	if got := order(); got != "200" {
		t.Fatalf("first order: %s", got)
	}
	refreshes, orders := r.ex.Calls(traderapi.PathRefresh), r.ex.Calls(traderapi.PathInsertOrder)
	r.ex.RevokeAccessTokens(testUser)
	if got := order(); got != "200" {
		t.Fatalf("order after a revoke: %s, want 200 after one retry", got)
	}
	if dr, do := r.ex.Calls(traderapi.PathRefresh)-refreshes, r.ex.Calls(traderapi.PathInsertOrder)-orders; dr != 1 || do != 2 {
		t.Fatalf("%d refreshes and %d order requests for one 401, want 1 and 2", dr, do)
	}
	in.Close()
	_, _ = io.Copy(io.Discard, outp)
}

// processExit is a finished process's exit code (0 for nil).
func processExit(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// With --log-format json --debug every line the agent writes is a JSON
// object and none holds the token or the password; SIGHUP reloads (the key
// files are read again, the session resumed) and the agent serves on.
func TestAgentProcessJSONLogsAndSIGHUP(t *testing.T) {
	t.Parallel()
	r := newAgentRig(t, time.Hour, settings.Settings{})
	r.login(t)
	r.start(t, true, "--log-format", "json", "--debug")
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stderr.String(), "reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tok, _, err := r.pmx(t, "token")
	if err != nil {
		t.Fatalf("token after SIGHUP: %v", err)
	}
	r.stop(t)
	logs := r.stderr.String()
	b, err := os.ReadFile(filepath.Join(r.settings.ConfigHome, "pmx-login", r.settings.Env, testUser+".session.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := keystore.Decode(b)
	if err != nil || rec.RefreshToken.IsZero() {
		t.Fatalf("the stored session: %v", err)
	}
	for _, secret := range []string{strings.TrimSpace(tok), testPassword, rec.RefreshToken.Reveal()} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the agent's log holds a secret:\n%s", logs)
		}
	}
	for line := range strings.Lines(logs) {
		if !json.Valid([]byte(line)) {
			t.Fatalf("not a JSON log line: %q", line)
		}
	}
}
