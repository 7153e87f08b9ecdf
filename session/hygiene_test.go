package session_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Issue 10, item 9: secrets never reach another origin, nor error text.

// sink is another loopback origin that records what reaches it.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // method, path, Authorization and body of each request
	auth int      // requests with an Authorization header
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(body))
		s.auth += len(r.Header.Values("Authorization"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// check fails if anything carrying one of secrets arrived (it names which
// secret, never its value); it returns how many requests arrived.
func (s *sink) check(t *testing.T, secrets map[string]traderapi.Secret) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, got := range s.seen {
		for name, v := range secrets {
			if v != "" && strings.Contains(got, v.Reveal()) {
				t.Errorf("the other origin received the %s", name)
			}
		}
	}
	if s.auth > 0 {
		t.Errorf("%d request(s) to the other origin carried an Authorization header", s.auth)
	}
	return len(s.seen)
}

// TestRedirectedAuthCallsLeakNothing: login, refresh and logout answered
// 307 or 308 to another loopback origin: nothing arrives there, the call
// fails matching ErrRedirected, and the session keeps what it had (login,
// refresh); logout reports the revoke as unconfirmed.
func TestRedirectedAuthCallsLeakNothing(t *testing.T) {
	t.Parallel()
	for _, status := range []int{307, 308} {
		for _, path := range []string{traderapi.PathLogin, traderapi.PathRefresh, traderapi.PathLogout} {
			t.Run(http.StatusText(status)+path, func(t *testing.T) {
				t.Parallel()
				redirectedCall(t, status, path)
			})
		}
	}
}

func redirectedCall(t *testing.T, status int, path string) {
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	other := newSink(t)
	f.srv.ResetCounters()
	f.srv.InjectFault(path, traderapitest.Fault{Status: status, Redirect: other.URL + path})
	switch path {
	case traderapi.PathLogin:
		err = f.m.Login(t.Context(), testUser, testPassword, "")
	case traderapi.PathRefresh:
		err = f.m.Refresh(t.Context())
	case traderapi.PathLogout:
		err = f.m.Logout(t.Context())
	}
	t.Logf("%d on %s: %v", status, path, err)
	if !errors.Is(err, traderapi.ErrRedirected) {
		t.Errorf("error = %v, want one matching ErrRedirected", err)
	}
	secrets := map[string]traderapi.Secret{"password": testPassword, "access token": tok, "refresh token": rec.RefreshToken}
	if n := other.check(t, secrets); n != 0 {
		t.Errorf("%d request(s) reached the other origin, want none", n)
	}
	if n := f.srv.Calls(path); n != 1 {
		t.Errorf("%s calls = %d, want 1 (a redirect is not retried)", path, n)
	}
	if path == traderapi.PathLogout {
		if !errors.Is(err, session.ErrNotRevoked) {
			t.Errorf("logout error = %v, want ErrNotRevoked", err)
		}
		return
	}
	if errors.Is(err, session.ErrSessionExpired) || errors.Is(err, session.ErrNotLoggedIn) {
		t.Errorf("a redirect ended the session: %v", err)
	}
	assertKept(t, f, rec, tok)
}

// TestTransportTokenOnlyToExchangeOrigin: a request through the manager's
// transport to another origin, and the hop of a 307 from the exchange to
// another origin followed by an http.Client over that transport, carry no
// Authorization; the exchange itself gets the token.
func TestTransportTokenOnlyToExchangeOrigin(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	other := newSink(t)
	hc := &http.Client{Transport: f.m.Transport(nil)}

	resp, err := hc.Get(other.URL + "/elsewhere")
	if err != nil {
		t.Fatalf("GET another origin: %v", err)
	}
	resp.Body.Close()

	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Redirect: other.URL + "/moved" + traderapi.PathInsertOrder})
	req, err := f.client.NewRequest(t.Context(), http.MethodPost, traderapi.PathInsertOrder, strings.NewReader(order))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatalf("insert_order redirected: %v", err)
	}
	resp.Body.Close()
	if got := lastAuthorization(f, traderapi.PathInsertOrder); got != tok.Reveal() {
		t.Error("the exchange did not get the token")
	}
	if n := other.check(t, map[string]traderapi.Secret{"access token": tok}); n != 2 {
		t.Errorf("%d request(s) reached the other origin, want 2 (the GET and the redirect hop)", n)
	}
}

// TestEchoedSecretsNotInErrors: an exchange that echoes the password or
// the refresh token in its error message: the Manager's errors (and the
// ended session's) show neither.
func TestEchoedSecretsNotInErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{}, session.Config{})
			tok := f.login(t)
			rec, err := storedRecord(t, f.store, f.m.Status().Environment)
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string]traderapi.Secret{"password": testPassword, "refresh token": rec.RefreshToken, "access token": tok}
			f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: status, Times: 1,
				Message: "invalid: " + testUser + " " + testPassword.Reveal()})
			noSecret(t, "login", f.m.Login(t.Context(), testUser, testPassword, ""), secrets)
			f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: status, Times: 1,
				Message: "invalid refresh token " + rec.RefreshToken.Reveal()})
			noSecret(t, "refresh", f.m.Refresh(t.Context()), secrets)
			noSecret(t, "Status().Ended", f.m.Status().Ended, secrets)
			noSecret(t, "Status().Retrying", f.m.Status().Retrying, secrets)
		})
	}
}

// TestEchoedPasswordInReloginNotInErrors: the relogin's login echoes the
// password: the error that ends the session does not show it.
func TestEchoedPasswordInReloginNotInErrors(t *testing.T) {
	t.Parallel()
	var asked int
	var mu sync.Mutex
	f := setup(t, traderapitest.Options{}, reloginConfig(&asked, &mu))
	f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 401, Message: "bad password " + testPassword.Reveal()})
	err := f.m.Refresh(t.Context())
	if !errors.Is(err, session.ErrSessionExpired) {
		t.Errorf("Refresh = %v, want ErrSessionExpired", err)
	}
	noSecret(t, "relogin", err, map[string]traderapi.Secret{"password": testPassword})
}

// noSecret fails if err's text (plain or %+v) shows one of secrets.
func noSecret(t *testing.T, what string, err error, secrets map[string]traderapi.Secret) {
	t.Helper()
	if err == nil {
		return
	}
	t.Logf("%s: %v", what, err)
	for name, v := range secrets {
		if strings.Contains(err.Error(), v.Reveal()) || strings.Contains(errorPlusV(err), v.Reveal()) {
			t.Errorf("the %s error shows the %s", what, name)
		}
	}
}

func errorPlusV(err error) string { return fmt.Sprintf("%+v", err) }

// TestPlainHTTPOnlyToLoopback: a client for a plain http:// base URL on a
// non-loopback host is refused (so no Manager can use it); loopback http
// works.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://exchange.example.com", "http://10.0.0.7:8080"} {
		_, err := traderapi.NewClient(traderapi.Environment{Name: "custom", BaseURL: u})
		if !errors.Is(err, traderapi.ErrInsecureURL) {
			t.Errorf("NewClient(%s) = %v, want ErrInsecureURL", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		c, err := traderapi.NewClient(traderapi.Environment{Name: "custom", BaseURL: u})
		if err != nil {
			t.Errorf("NewClient(%s) = %v, want loopback http accepted", u, err)
			continue
		}
		if _, err := session.New(session.Config{Client: c, Store: keystore.NewMemory()}); err != nil {
			t.Errorf("session.New over %s: %v", u, err)
		}
	}
}
