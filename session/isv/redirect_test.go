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
