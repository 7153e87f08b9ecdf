package traderapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// sink is a second loopback server that records everything it receives.
type sink struct {
	*httptest.Server
	mu  sync.Mutex
	got []string
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, r.Method+" "+r.URL.String()+"\n"+r.Header.Get("Authorization")+"\n"+string(body))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"accessToken":"x.y.z","refreshToken":"r"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.got, "\n---\n")
}

// TestAuthCallsNeverFollowRedirects redirects login, refresh and logout with
// a 307 and a 308 to another loopback origin: nothing arrives there, and the
// call fails with an APIError naming where it pointed, origin only.
func TestAuthCallsNeverFollowRedirects(t *testing.T) {
	t.Parallel()
	const (
		access  = traderapi.Secret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0In0.access-sig")
		refresh = traderapi.Secret("refresh-token-opaque-0123456789")
	)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		other := newSink(t)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path+"?leak=query-value", status)
		}))
		t.Cleanup(front.Close)
		c, err := traderapi.NewClient(traderapi.Environment{Name: "t", BaseURL: front.URL}, traderapi.WithHTTPClient(front.Client()))
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		calls := map[string]error{}
		_, calls["login"] = c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password, OTP: "123456"})
		_, calls["refresh"] = c.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: refresh})
		calls["logout"] = c.Logout(ctx, traderapi.LogoutRequest{AccessToken: access, RefreshToken: refresh})
		if got := other.received(); got != "" {
			t.Fatalf("%d: the other origin received:\n%s", status, got)
		}
		for name, err := range calls {
			var ae *traderapi.APIError
			if !errors.As(err, &ae) || ae.StatusCode != status || !errors.Is(err, traderapi.ErrRedirected) {
				t.Fatalf("%d %s: error %v, want an APIError with the redirect status matching ErrRedirected", status, name, err)
			}
			if ae.Location != other.URL {
				t.Errorf("%d %s: Location %q, want the origin %q", status, name, ae.Location, other.URL)
			}
			msg := err.Error()
			if !strings.Contains(msg, other.URL) || strings.Contains(msg, "leak") || strings.Contains(msg, "auth/v1beta1/login") && name != "login" {
				t.Errorf("%d %s: message %q should name the origin only", status, name, msg)
			}
		}
	}
}

// TestRedirectKeepsCallersClient: the injected client's own redirect policy
// is untouched, and its Transport is still the one used.
func TestRedirectKeepsCallersClient(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	var used int
	hc := s.HTTPClient()
	base := hc.Transport
	hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) { used++; return base.RoundTrip(r) })
	c, err := s.Client(traderapi.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	login(t, c)
	if used != 1 || c.HTTPClient() != hc || hc.CheckRedirect != nil {
		t.Fatalf("transport used %d times; HTTPClient is the caller's: %t; caller's CheckRedirect changed: %t",
			used, c.HTTPClient() == hc, hc.CheckRedirect != nil)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
