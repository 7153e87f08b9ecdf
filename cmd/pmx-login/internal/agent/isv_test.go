package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	isvClient      = "isv-client-123"
	isvParticipant = "firms/ISV-Participant-Acme/users/alice"
)

// An agent given ISV credentials serves the partner's token on
// /v1/isv/token, and its proxy sends /v1/ paths to the ISV API with
// "Bearer" and x-participant-id; the API's 401 is refreshed once and
// retried once.
func TestISVTokenAndProxyRoute(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	auth := traderapitest.NewAuthServer(traderapitest.AuthOptions{})
	key, err := isvkit.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	auth.RegisterClient(isvClient, &key.PublicKey, []string{"read:accounts", "write:orders"})
	authSrv, api := httptest.NewServer(auth), traderapitest.NewAPIServer(auth)
	defer authSrv.Close()
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	open := func() (*Backend, error) {
		b, err := f.open(t)()
		if err != nil {
			return nil, err
		}
		b.ISV, err = isv.New(isv.Config{ClientID: isvClient, Key: key, AuthURL: authSrv.URL, Audience: auth.Audience(),
			APIURL: apiSrv.URL, HTTPClient: &http.Client{Transport: f.tr}})
		return b, err
	}
	ag, err := New(Config{Open: open, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "run", "isv.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = Serve(ctx, l, ag.SocketHandler(), time.Second, nil); close(served) }()
	go func() { _ = ag.Run(ctx) }()
	defer func() { cancel(); <-served; ag.Close() }()

	var tok TokenJSON
	if _, err := NewClient(sock).Get(t.Context(), PathISVToken, &tok); err != nil || tok.TokenType != "Bearer" || tok.Token == "" {
		t.Fatalf("isv token: %+v %v", tok, err)
	}
	h, err := ag.ProxyHandler(ProxyConfig{BaseURL: f.ex.URL, ParticipantID: isvParticipant, Transport: f.tr})
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(h)
	defer px.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	order := func() int {
		resp, err := hc.Post(px.URL+"/v1/trading/orders", "application/json", strings.NewReader(`{"symbol":"X","side":"BUY","quantity":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := order(); code != http.StatusOK {
		t.Fatalf("ISV order through the proxy: %d", code)
	}
	hdr := api.LastHeader("/v1/trading/orders")
	if !strings.HasPrefix(hdr.Get("Authorization"), "Bearer ") || hdr.Get(isv.ParticipantHeader) != isvParticipant {
		t.Fatalf("the API got Authorization %q... and participant %q", hdr.Get("Authorization")[:7], hdr.Get(isv.ParticipantHeader))
	}
	issued, calls := auth.Issued(), api.Calls("/v1/trading/orders")
	api.RejectNext(1)
	if code := order(); code != http.StatusOK {
		t.Fatalf("ISV order after a 401: %d, want 200 after one retry", code)
	}
	if di, dc := auth.Issued()-issued, api.Calls("/v1/trading/orders")-calls; di != 1 || dc != 2 {
		t.Fatalf("after a 401: %d new tokens and %d calls, want 1 and 2", di, dc)
	}
}
