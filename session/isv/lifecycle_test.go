package isv

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Issue 10, item 7, for the Source: no goroutine outlives Close, and the
// transport forwards CloseIdleConnections.

// gatedAuth serves an AuthServer; while gated, a token request waits
// (after signalling arrival) until released or its client goes away.
type gatedAuth struct {
	auth    *traderapitest.AuthServer
	gated   atomic.Bool
	arrived chan struct{}
	release chan struct{}
}

func (g *gatedAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.gated.Load() && strings.HasSuffix(r.URL.Path, "/oauth/token") {
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	g.auth.ServeHTTP(w, r)
}

// TestSourceNoGoroutineOutlivesClose: a Source with a token (timers armed)
// and a token request in flight is closed: the request is cancelled, Token
// says closed, and no goroutine is left once the test's own transport and
// servers are closed. Not parallel: goleak sees every goroutine.
func TestSourceNoGoroutineOutlivesClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	g := &gatedAuth{auth: traderapitest.NewAuthServer(traderapitest.AuthOptions{}),
		arrived: make(chan struct{}, 1), release: make(chan struct{})}
	key := loadKey(t, "client-pkcs1.pem")
	g.auth.RegisterClient(testClientID, &key.PublicKey, allScopes())
	srv := httptest.NewServer(g)
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	src, err := New(Config{ClientID: testClientID, Key: key, AuthURL: srv.URL, Audience: g.auth.Audience(),
		APIURL: srv.URL, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(t.Context())
	if err != nil {
		t.Fatalf("first Token: %v", err)
	}
	src.Invalidate(tok)
	g.gated.Store(true)
	done := make(chan error, 1)
	go func() { _, err := src.Token(context.Background()); done <- err }()
	select {
	case <-g.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the token request never arrived")
	}
	_ = src.Close()
	_ = src.Close() // idempotent
	select {
	case err := <-done:
		t.Logf("the Token waiting on the closed request: %v", err)
		if err == nil {
			t.Error("a token request cancelled by Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return after Close")
	}
	if _, err := src.Token(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Errorf("Token after Close = %v, want ErrClosed", err)
	}
	close(g.release)
	tr.CloseIdleConnections()
	srv.Close()
	goleak.VerifyNone(t, ignore)
}

// idleCounter is a RoundTripper that counts CloseIdleConnections.
type idleCounter struct {
	http.RoundTripper
	closed atomic.Int32
}

func (c *idleCounter) CloseIdleConnections() { c.closed.Add(1) }

// TestSourceTransportForwardsCloseIdleConnections: http.Client's
// CloseIdleConnections reaches the transport under Source.Transport.
func TestSourceTransportForwardsCloseIdleConnections(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	base := &idleCounter{RoundTripper: http.DefaultTransport}
	(&http.Client{Transport: src.Transport(base, testParticipant)}).CloseIdleConnections()
	if n := base.closed.Load(); n != 1 {
		t.Fatalf("CloseIdleConnections reached the base transport %d times, want 1", n)
	}
}
