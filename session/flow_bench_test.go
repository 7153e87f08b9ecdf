package session_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestFullFlowRequestsAndConnections: register → login → refresh → logout
// over one client is 4 requests over 1 TCP connection: every response body
// is read to the end and closed, so the connection goes back to the pool.
func TestFullFlowRequestsAndConnections(t *testing.T) {
	t.Parallel()
	e := traderapitest.New(traderapitest.Options{})
	var conns atomic.Int32
	hs := httptest.NewUnstartedServer(e)
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone() // a pool of its own
	t.Cleanup(tr.CloseIdleConnections)
	env := traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: hs.URL, Host: e.Host()}
	client, err := traderapi.NewClient(env, traderapi.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	const user, password = "newbie", traderapi.Secret("another-strong-pass-77")
	ctx := t.Context()
	if _, err := client.Register(ctx, traderapi.RegisterRequest{Token: traderapi.Secret(e.RegistrationToken(user)), Password: password}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := m.Login(ctx, user, password, ""); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := m.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	var paths []string
	for _, r := range e.Requests() {
		paths = append(paths, r.Path)
	}
	want := []string{traderapi.PathRegister, traderapi.PathLogin, traderapi.PathRefresh, traderapi.PathLogout}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v", paths, want)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
	t.Logf("%d requests over %d connection(s)", len(paths), conns.Load())
}

// orderServer is a bare API server: it reads the request and answers a
// small JSON body, so that a round trip's allocations are mostly the
// client's.
func orderServer(tb testing.TB) string {
	tb.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"orderId":"1","status":"accepted"}`))
	}))
	tb.Cleanup(hs.Close)
	return hs.URL + traderapi.PathInsertOrder
}

// sendOrders sends n orders through rt to url.
func sendOrders(tb testing.TB, rt http.RoundTripper, url string, loop func() bool) {
	hc := &http.Client{Transport: rt}
	body := []byte(order)
	for loop() {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func newPool(tb testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return tr
}

// BenchmarkBareClient: one order over a plain http.Client, the baseline
// of BenchmarkTransport.
func BenchmarkBareClient(b *testing.B) {
	url := orderServer(b)
	rt := newPool(b)
	b.ReportAllocs()
	sendOrders(b, rt, url, b.Loop)
}

// BenchmarkTransport: one order through Manager.Transport; the difference
// from BenchmarkBareClient is the authorized transport's cost.
func BenchmarkTransport(b *testing.B) {
	url := orderServer(b)
	rt := benchManager(b).Transport(newPool(b))
	b.ReportAllocs()
	sendOrders(b, rt, url, b.Loop)
}

// TestTransportAllocOverhead bounds the allocations Manager.Transport adds
// to a round trip over a bare http.Client: a request clone and its
// Authorization header.
func TestTransportAllocOverhead(t *testing.T) {
	url := orderServer(t)
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	measure := func(rt http.RoundTripper) float64 {
		sendOrders(t, rt, url, once()) // warm the connection up
		return testing.AllocsPerRun(200, func() { sendOrders(t, rt, url, once()) })
	}
	bare := measure(newPool(t))
	authorized := measure(f.m.Transport(newPool(t)))
	t.Logf("allocations per request: bare %.0f, authorized %.0f, overhead %.0f", bare, authorized, authorized-bare)
	if over := authorized - bare; over > 12 {
		t.Errorf("the authorized transport adds %.0f allocations per request, want at most 12", over)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Errorf("refresh calls = %d on the hot path", n)
	}
}

// once returns a loop condition that holds once.
func once() func() bool {
	done := false
	return func() bool {
		if done {
			return false
		}
		done = true
		return true
	}
}
