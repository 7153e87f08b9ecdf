package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/internal/tooltest"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// agentRig is a local exchange, a keystore with a logged-in session, and a
// `pmx-login agent` process serving it.
type agentRig struct {
	ex       *traderapitest.Server
	settings settings.Settings
	env      []string // the agent's (and the CLI's) environment
	sock     string
	cmd      *exec.Cmd
	stderr   *helperproc.Buffer
	waited   chan error
	redis    *redistest.Server // the Redis of newRedisAgentRig, else nil
}

// newAgentRig starts an exchange with access tokens of lifetime ttl and
// logs testUser in to a keystore (the file store, or what extra settings
// name); extraEnv is added to the processes' environment.
func newAgentRig(t testing.TB, ttl time.Duration, st settings.Settings, extraEnv ...string) *agentRig {
	t.Helper()
	r := &agentRig{ex: traderapitest.NewServer(traderapitest.Options{AccessTTL: ttl})}
	t.Cleanup(r.ex.Close)
	if err := r.ex.AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	cfgHome := t.TempDir()
	envx := r.ex.Environment()
	st.Env, st.BaseURL, st.Host, st.ConfigHome = envx.Name, envx.BaseURL, envx.Host, cfgHome
	if st.Keystore == "" {
		st.Keystore = "file"
	}
	r.settings = st
	run := filepath.Join(t.TempDir(), "run")
	r.sock = filepath.Join(run, envx.Name+".sock")
	r.env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + cfgHome,
		"PMX_ENV=" + envx.Name, "PMX_BASE_URL=" + envx.BaseURL, "PMX_HOST=" + envx.Host, "PMX_KEYSTORE=" + st.Keystore,
		agent.EnvSocket + "=" + r.sock}, extraEnv...)
	return r
}

// login logs testUser in to the rig's keystore, as `pmx-login login` would.
func (r *agentRig) login(t testing.TB) {
	t.Helper()
	cfg, err := r.settings.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Login(t.Context(), testUser, traderapi.Secret(testPassword), ""); err != nil {
		t.Fatal(err)
	}
	if c, ok := cfg.Store.(interface{ Close() error }); ok {
		c.Close()
	}
}

// start runs `pmx-login agent` with args and waits until it holds a token
// (ready) or, with ready false, until its socket answers.
func (r *agentRig) start(t testing.TB, ready bool, args ...string) {
	t.Helper()
	r.cmd = exec.Command(pmxBinary(t), append([]string{"agent"}, args...)...)
	r.cmd.Env = r.env
	r.stderr = &helperproc.Buffer{}
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.waited = make(chan error, 1)
	go func() { r.waited <- r.cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.status()
		if err == nil && (st.Ready || !ready) {
			return
		}
		select {
		case err := <-r.waited:
			r.waited <- err
			t.Fatalf("the agent exited: %v\n%s", err, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not become ready: %v %+v\n%s", err, st, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status asks the agent's socket for its status.
func (r *agentRig) status() (agent.StatusJSON, error) {
	var st agent.StatusJSON
	_, err := agent.NewClient(r.sock).Get(context.Background(), agent.PathStatus, &st)
	return st, err
}

// stop sends SIGTERM and checks that the agent exits 0, removes its socket
// and says so; idempotent.
func (r *agentRig) stop(t testing.TB) {
	if r.cmd == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.waited:
		if err != nil {
			t.Errorf("the agent exited with %v\n%s", err, r.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		t.Errorf("the agent did not stop on SIGTERM\n%s", r.stderr)
		return
	}
	if _, err := os.Stat(r.sock); err == nil {
		t.Errorf("the socket %s is still there after SIGTERM", r.sock)
	}
	if !strings.Contains(r.stderr.String(), "agent stopped") {
		t.Errorf("the agent did not log its stop:\n%s", r.stderr)
	}
}

// pmx runs the pmx-login binary with the rig's environment.
func (r *agentRig) pmx(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	return r.pmxIn(t, "", args...)
}

// pmxIn is pmx with stdin.
func (r *agentRig) pmxIn(t testing.TB, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(pmxBinary(t), args...)
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// requirePython skips (or fails in CI) without python3.
func requirePython(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		tooltest.Skip(t, "python3 is not installed", "apt-get install python3")
	}
	return p
}

// pythonSummary is what agent_client.py tokens prints.
type pythonSummary struct {
	Calls, Failures, Distinct int
	Errors                    []string
}

// pythonTokens runs the Python client's token loop for d.
func (r *agentRig) pythonTokens(t testing.TB, d, interval time.Duration) pythonSummary {
	t.Helper()
	py := requirePython(t)
	out, err := exec.Command(py, "testdata/agent_client.py", "tokens", r.sock, secs(d), secs(interval),
		r.ex.URL, r.ex.Host()).Output()
	if err != nil {
		t.Fatalf("python client: %v", err)
	}
	var s pythonSummary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("python client printed %q: %v", out, err)
	}
	return s
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// freePort returns a loopback address that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// unixHTTPClient is an HTTP client over the socket at path that keeps its
// connection, as a long-running bot would.
func unixHTTPClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}
