package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const orderBody = `{"symbol":"TEST-1","side":"BUY","quantity":1,"price":"0.5"}`

// proxyFixture is a fixture with the proxy served on a loopback port; obs
// records what Observe saw.
type proxyFixture struct {
	*fixture
	url string
	hc  *http.Client // the test's client, closed at the end
	mu  sync.Mutex
	obs []int
}

func setupProxy(t *testing.T) *proxyFixture {
	t.Helper()
	p := &proxyFixture{fixture: setup(t, traderapitest.Options{})}
	env := p.ex.Environment()
	h, err := p.ag.ProxyHandler(ProxyConfig{BaseURL: env.BaseURL, Host: env.Host, Transport: p.tr,
		Observe: func(_ string, status int, _ time.Duration) { p.mu.Lock(); p.obs = append(p.obs, status); p.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	p.hc = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(p.hc.CloseIdleConnections)
	return p
}

// order posts an order through the proxy with the client's own (bogus)
// Authorization, which the proxy replaces.
func (p *proxyFixture) order(t *testing.T) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url+traderapi.PathInsertOrder, strings.NewReader(orderBody))
	req.Header.Set("Authorization", "client-own-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Orders go through the proxy with the agent's token (the client's own
// Authorization dropped, the exchange's Host set); after the exchange
// revokes the access token, the next order's 401 makes the proxy refresh
// once and send the order once more: the client sees 200, the exchange saw
// one refresh and two order requests for it.
func TestProxyAddsTokenAndRetries401Once(t *testing.T) {
	p := setupProxy(t)
	if code := p.order(t); code != http.StatusServiceUnavailable {
		t.Fatalf("order without a session: %d, want 503", code)
	}
	p.login(t)
	eventually(t, "ready", func() bool { return p.ag.Ready() == nil })
	if code := p.order(t); code != http.StatusOK {
		t.Fatalf("order: %d", code)
	}
	last, _ := p.ex.LastRequest(traderapi.PathInsertOrder)
	if got := last.Header.Get("Authorization"); got == "client-own-token" || strings.HasPrefix(got, "Bearer ") {
		t.Fatalf("the exchange got Authorization %q", got)
	}
	refreshes, orders := p.ex.Calls(traderapi.PathRefresh), p.ex.Calls(traderapi.PathInsertOrder)
	p.ex.RevokeAccessTokens(testUser)
	if code := p.order(t); code != http.StatusOK {
		t.Fatalf("order after revoke: %d, want 200 after one retry", code)
	}
	if r, o := p.ex.Calls(traderapi.PathRefresh)-refreshes, p.ex.Calls(traderapi.PathInsertOrder)-orders; r != 1 || o != 2 {
		t.Fatalf("after a 401: %d refreshes and %d order requests, want 1 and 2", r, o)
	}
	eventually(t, "three observations", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.obs) == 3 })
	p.mu.Lock()
	defer p.mu.Unlock()
	if want := []int{503, 200, 200}; len(p.obs) != 3 || p.obs[0] != want[0] || p.obs[2] != want[2] {
		t.Fatalf("observed %v, want %v", p.obs, want)
	}
}

// An absolute-form request naming another host still goes to the
// exchange; CONNECT is refused.
func TestProxyNeverForwardsElsewhere(t *testing.T) {
	p := setupProxy(t)
	p.login(t)
	eventually(t, "ready", func() bool { return p.ag.Ready() == nil })
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request reached another origin")
	}))
	defer elsewhere.Close()
	px, _ := http.NewRequest(http.MethodConnect, p.url, nil)
	px.Host = "example.com:443"
	resp, err := p.hc.Do(px)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	tr := &http.Transport{Proxy: func(*http.Request) (*urlT, error) { return parse(p.url) }}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, elsewhere.URL+traderapi.PathInsertOrder, strings.NewReader(orderBody))
	resp, err = (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("absolute-form order: %d, want the exchange's 200", resp.StatusCode)
	}
}

// A proxied order in flight when shutdown begins finishes: Serve stops
// accepting, waits for it (within the grace) and the client gets the
// exchange's answer.
func TestServeLetsInFlightRequestsFinish(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	f.login(t)
	eventually(t, "ready", func() bool { return f.ag.Ready() == nil })
	env := f.ex.Environment()
	h, err := f.ag.ProxyHandler(ProxyConfig{BaseURL: env.BaseURL, Host: env.Host, Transport: f.tr})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, h, time.Minute, nil) }()
	hold := f.ex.Hold(traderapi.PathInsertOrder)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	status := make(chan int, 1)
	go func() {
		resp, err := hc.Post("http://"+l.Addr().String()+traderapi.PathInsertOrder, "application/json", strings.NewReader(orderBody))
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-hold.Arrived()
	cancel() // SIGTERM: shutdown begins with the order at the exchange
	eventually(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	hold.Release()
	if code := <-status; code != http.StatusOK {
		t.Fatalf("the in-flight order got %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
