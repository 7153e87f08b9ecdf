package traderapitest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// waitFor is a generous bound on something that is about to happen.
const waitFor = 30 * time.Second

// TestHoldPausesAfterApplying: a held logout has revoked the tokens when
// Arrived closes, and its answer is written only after Release.
func TestHoldPausesAfterApplying(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	a := login(t, s, alice, alicePW)
	access, refresh := a.str("accessToken"), a.str("refreshToken")
	h := s.Hold(traderapi.PathLogout)
	done := make(chan answer, 1)
	go func() {
		done <- post(t, s, traderapi.PathLogout, map[string]string{"accessToken": access, "refreshToken": refresh},
			"Authorization", access)
	}()
	select {
	case <-h.Arrived():
	case <-time.After(waitFor):
		t.Fatal("the logout never arrived")
	}
	if _, err := s.Authenticate(access); err == nil {
		t.Fatal("the held logout has not been applied: the access token still works")
	}
	select {
	case a := <-done:
		t.Fatalf("the held logout was answered before Release: %d", a.status)
	default:
	}
	h.Release()
	h.Release() // idempotent
	if a := <-done; a.status != http.StatusOK {
		t.Fatalf("logout after Release: %d %s", a.status, a.raw)
	}
	// One-shot: the next logout is not held.
	if a := post(t, s, traderapi.PathLogout, map[string]string{"accessToken": access, "refreshToken": refresh},
		"Authorization", access); a.status == 0 {
		t.Fatal("no answer")
	}
}

// TestHoldOrderReleaseFirstAndFaults: holds on a path apply in order; one
// released before its request passes at once; a faulted request is held
// before its fault's answer.
func TestHoldOrderReleaseFirstAndFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	first, second := s.Hold(traderapi.PathCheckPassword), s.Hold(traderapi.PathCheckPassword)
	first.Release()
	second.Release()
	for range 2 {
		if a := post(t, s, traderapi.PathCheckPassword, map[string]string{"password": alicePW}); a.status != http.StatusOK {
			t.Fatalf("check_password: %d", a.status)
		}
	}
	for _, h := range []*traderapitest.Hold{first, second} {
		select {
		case <-h.Arrived():
		default:
			t.Fatal("a hold did not see its request")
		}
	}
	s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "5", Times: 1})
	h := s.Hold(traderapitest.AnyPath)
	done := make(chan answer, 1)
	go func() { done <- post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": "x"}) }()
	<-h.Arrived()
	h.Release()
	if a := <-done; a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "5" {
		t.Fatalf("held faulted refresh: %d %v", a.status, a.header)
	}
}

// TestCloseReleasesForgottenHolds: a server closed with a request held does
// not hang; the request gets its answer.
func TestCloseReleasesForgottenHolds(t *testing.T) {
	t.Parallel()
	s := traderapitest.NewServer(traderapitest.Options{})
	h := s.Hold(traderapi.PathCheckPassword)
	s.Hold(traderapi.PathLogin) // never reached
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+traderapi.PathCheckPassword, bytes.NewReader([]byte(`{"password":"x"}`)))
		req.Host = s.Host()
		resp, err := s.HTTPClient().Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	<-h.Arrived()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitFor):
		t.Fatal("Close hangs on a held request")
	}
	if err := <-errc; err != nil {
		t.Fatalf("the held request: %v", err)
	}
}

// TestFaultRedirect: a redirect fault answers 307 (or the Status given)
// with the Location, and the call is not applied.
func TestFaultRedirect(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	hc := s.HTTPClient()
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range []struct{ status, want int }{{0, 307}, {308, 308}} {
		const to = "https://elsewhere.example:8443/auth/v1beta1/login"
		s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Redirect: to, Status: tc.status, Times: 1})
		body, _ := json.Marshal(aliceLogin)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+traderapi.PathLogin, bytes.NewReader(body))
		req.Host = s.Host()
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("Location") != to || bytes.Contains(raw, []byte("accessToken")) {
			t.Fatalf("redirect fault: %d Location %q body %s", resp.StatusCode, resp.Header.Get("Location"), raw)
		}
	}
}

// TestFaultsOfAProxy: the answers of something in front of the exchange
// that the session core must survive: 404 and 403 HTML pages, and a 503
// with Retry-After.
func TestFaultsOfAProxy(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: status, HTML: true, Times: 1})
		a := post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": "x"})
		if a.status != status || a.header.Get("Content-Type") != "text/html" || !bytes.Contains(a.raw, []byte("<html>")) {
			t.Fatalf("HTML %d fault: %d %q %s", status, a.status, a.header.Get("Content-Type"), a.raw)
		}
	}
	s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "12", Times: 1})
	a := post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": "x"})
	wantError(t, a, http.StatusServiceUnavailable, 14, "Service Unavailable")
	if a.header.Get("Retry-After") != "12" {
		t.Fatalf("Retry-After %q", a.header.Get("Retry-After"))
	}
}
