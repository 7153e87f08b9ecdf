package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/traderapi"
)

// TestLeakAuditAgent: `pmx-login agent` with --debug and JSON logs, every
// surface on (socket, sink, proxy, metrics), through a refresh, a 401
// retried by the proxy, a 503 HTML page and a SIGTERM. Its stdout and
// stderr, /metrics, /healthz, /readyz, /v1/status and every file it leaves
// are searched for every secret of the run; only the socket's /v1/token
// and the sink (what the user asked for) may hold the access token.
func TestLeakAuditAgent(t *testing.T) {
	t.Parallel()
	s := newLeakScenario(t, &auditTally{}, "file")
	pw := testPassword + "\n"
	s.run(leakStep{cmd: "register", args: []string{"--token-file", s.input("registration.jwt", s.ex.RegistrationToken(testUser)), "--password-stdin"}, stdin: pw})
	s.run(leakStep{cmd: "login", args: []string{"--username", testUser, "--password-stdin"}, stdin: pw})

	sock := filepath.Join(s.work, "home", "run", "agent.sock")
	sink := filepath.Join(s.work, "home", "token.json")
	s.sinkFile = filepath.Join("home", "token.json")
	proxy, metrics := freePort(t), freePort(t)
	cmd := exec.Command(s.bin, "agent", "--debug", "--log-format", "json", "--socket", sock, "--sink", sink,
		"--sink-format", "json", "--proxy", proxy, "--metrics", metrics)
	cmd.Env = s.env
	var stdout, stderr helperproc.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sockClient := unixHTTPClient(sock)
	get := func(hc *http.Client, url string) []byte {
		resp, err := hc.Get(url)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(get(sockClient, "http://agent"+agent.PathStatus), []byte(`"ready":true`)); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not become ready")
		}
	}
	order := func() []byte {
		req, _ := http.NewRequest(http.MethodPost, "http://"+proxy+traderapi.PathInsertOrder, strings.NewReader(`{"symbol":"x","side":"SIDE_BUY","order_qty":"1","price":"0.5"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return append([]byte(fmt.Sprintf("%d ", resp.StatusCode)), b...)
	}
	for i, what := range []string{"agent proxy order", "agent proxy order after a revoke"} {
		if i == 1 {
			s.ex.RevokeAccessTokens(testUser) // the order gets a 401, a refresh and one retry
		}
		b := order()
		if !bytes.HasPrefix(b, []byte("200 ")) {
			t.Fatalf("%s: %s", what, traderapi.RedactText(string(b)))
		}
		s.audit.add(what, b)
	}
	s.audit.add("agent /v1/token", get(sockClient, "http://agent"+agent.PathToken), kindAccess)
	for _, p := range []string{agent.PathStatus} {
		s.audit.add("agent "+p, get(sockClient, "http://agent"+p))
	}
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		s.audit.add("agent "+p, get(http.DefaultClient, "http://"+metrics+p))
	}
	s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}}) // through the agent
	s.run(leakStep{cmd: "status"})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop on SIGTERM")
	}
	if b, err := os.ReadFile(sink); err == nil {
		s.audit.add("agent sink", b, kindAccess)
	}
	s.audit.add("agent stdout", []byte(stdout.String()))
	s.audit.add("agent stderr", []byte(stderr.String()))
	if !strings.Contains(stderr.String(), `"msg":"agent started"`) {
		t.Fatalf("the agent's log is not JSON, or it did not start: the audit would prove little\n%s", traderapi.RedactText(stderr.String()))
	}
	s.snapshot("after the agent")
	secrets := s.secrets(nil)
	n := s.audit.check(t, secrets)
	kinds := map[secretKind]int{}
	for _, k := range secrets {
		kinds[k]++
	}
	if kinds[kindAccess] < 2 || kinds[kindRefresh] < 1 || kinds[kindPassword] < 1 {
		t.Fatalf("secrets collected: %v", kinds)
	}
	t.Logf("agent: %d outputs and file versions, %d bytes searched for %d secrets (%d needles)", len(s.audit.blobs), s.audit.bytes, len(secrets), n)
}
