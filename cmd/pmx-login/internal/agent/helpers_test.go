package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	testUser     = "alice"
	testPassword = "Correct-horse-battery-9"
)

// fixture is a running agent over a file store, against a local exchange.
type fixture struct {
	ex     *traderapitest.Server
	dir    string // the file store's directory
	ag     *Agent
	sock   string
	client *http.Client // over the socket
	tr     *http.Transport
}

// setup starts an exchange, a file store and an agent serving its socket;
// everything stops in t.Cleanup. No session is stored: call login.
func setup(t *testing.T, opts traderapitest.Options) *fixture {
	t.Helper()
	f := &fixture{ex: traderapitest.NewServer(opts), dir: filepath.Join(t.TempDir(), "store")}
	if err := os.Mkdir(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.ex.Close)
	if err := f.ex.AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	f.tr = &http.Transport{}
	ag, err := New(Config{Open: f.open(t), Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.ag = ag
	sockDir := filepath.Join(t.TempDir(), "run")
	f.sock = filepath.Join(sockDir, "preprod.sock")
	l, err := Listen(f.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = ag.Run(ctx); done <- struct{}{} }()
	go func() { _ = Serve(ctx, l, ag.SocketHandler(), time.Second, nil); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; f.tr.CloseIdleConnections() })
	f.client = unixClient(f.sock)
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

// open is the fixture's Config.Open: a manager over the file store.
func (f *fixture) open(t *testing.T) func() (*Backend, error) {
	return func() (*Backend, error) {
		st, err := file.New(f.dir)
		if err != nil {
			return nil, err
		}
		c, err := f.ex.Client(traderapi.WithHTTPClient(&http.Client{Transport: f.tr}))
		if err != nil {
			return nil, err
		}
		m, err := session.New(session.Config{Client: c, Store: st})
		return &Backend{Manager: m, Store: st}, err
	}
}

// cli returns another process's manager over the same store (the CLI's).
func (f *fixture) cli(t *testing.T) *session.Manager {
	t.Helper()
	st, err := file.New(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.ex.Client()
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: c, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// login logs in as the CLI would and returns its manager.
func (f *fixture) login(t *testing.T) *session.Manager {
	t.Helper()
	m := f.cli(t)
	if err := m.Login(t.Context(), testUser, traderapi.Secret(testPassword), ""); err != nil {
		t.Fatal(err)
	}
	return m
}

// unixClient is an HTTP client over the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// get asks the socket for path and decodes the answer into out; it returns
// the status.
func (f *fixture) get(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := f.client.Get("http://agent" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", path, cc)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode
}

// eventually waits until cond holds, failing after a deadline far beyond
// what the condition needs (a few polls of 10 ms).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMain checks that no goroutine outlives the tests: every agent, server
// and sink stops with its context, and the tests close their transports.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type urlT = url.URL

func parse(s string) (*url.URL, error) { return url.Parse(s) }
