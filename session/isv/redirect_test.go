package isv

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestTokenRequestFollowsNoRedirect: an https token endpoint answering 307
// or 308 to a plain-http loopback server: nothing arrives there (no
// assertion in clear), and the error names where it pointed.
func TestTokenRequestFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	var mu sync.Mutex
	var got []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.String()+" "+string(body))
		mu.Unlock()
		http.Error(w, "nothing here", http.StatusTeapot)
	}))
	t.Cleanup(sink.Close)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, sink.URL+r.URL.Path, status)
		}))
		t.Cleanup(front.Close)
		src := tb.source(t, func(c *Config) { c.AuthURL = front.URL; c.HTTPClient = front.Client() })
		_, err := src.Token(t.Context())
		var ae *traderapi.APIError
		if !errors.Is(err, traderapi.ErrRedirected) || !errors.As(err, &ae) || ae.Location != sink.URL ||
			!strings.Contains(err.Error(), sink.URL) {
			t.Fatalf("%d: %v, want an APIError matching ErrRedirected naming %s", status, err, sink.URL)
		}
		if front.Client().CheckRedirect != nil {
			t.Fatal("the caller's client was changed")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Fatalf("the plain-http server received:\n%s", strings.Join(got, "\n"))
	}
}

// TestPlainHTTPOnlyToLoopbackISV: the token endpoint and the API get plain
// http only on a loopback host, by traderapi's rule.
func TestPlainHTTPOnlyToLoopbackISV(t *testing.T) {
	t.Parallel()
	key := loadKey(t, "client-pkcs1.pem")
	for _, cfg := range []Config{
		{AuthURL: "http://auth.example.com", Audience: "https://api.example.com"},
		{AuthURL: "https://auth.example.com", Audience: "https://api.example.com", APIURL: "http://api.example.com"},
		{AuthURL: "https://auth.example.com", Audience: "http://api.example.com"},
	} {
		cfg.ClientID, cfg.Key = "c", key
		_, err := New(cfg)
		if !errors.Is(err, traderapi.ErrInsecureURL) || !strings.Contains(err.Error(), "example.com") {
			t.Errorf("%+v: %v, want ErrInsecureURL naming the host", cfg, err)
		}
	}
	if _, err := New(Config{AuthURL: "http://127.0.0.1:1", Audience: "http://localhost:2", ClientID: "c", Key: key}); err != nil {
		t.Fatalf("loopback: %v", err)
	}
}
