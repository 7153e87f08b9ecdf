package session_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Issue 10, items 3, 4 and 5: faults never destroy what the user has, and a
// failing exchange is not hammered.

// sameRecord reports whether two records hold the same session state.
func sameRecord(a, b *keystore.Record) bool {
	return a != nil && b != nil && a.RefreshToken == b.RefreshToken && a.AccessToken == b.AccessToken &&
		a.Generation == b.Generation && a.AccessExpiry.Equal(b.AccessExpiry)
}

// assertKept checks that the store still holds rec and last-user, and
// that the manager still serves tok and has not ended the session.
func assertKept(t *testing.T, f *fixture, rec *keystore.Record, tok traderapi.Secret) {
	t.Helper()
	got, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil || !sameRecord(got, rec) {
		t.Errorf("the stored session changed or was removed (err %v)", err)
	}
	if u, err := f.store.LastUser(t.Context(), f.m.Status().Environment); err != nil || u != testUser {
		t.Errorf("last-user = %q, %v; want %q", u, err, testUser)
	}
	if got, err := f.m.Token(t.Context()); err != nil || got != tok {
		t.Errorf("the still-valid token is no longer served (err %v)", err)
	}
	if st := f.m.Status(); st.Ended != nil || !st.LoggedIn {
		t.Errorf("Status = ended %v, logged in %v; want a live session", st.Ended, st.LoggedIn)
	}
}

// TestProxyPageOnRefreshKeepsSession (item 3): a refresh answered 404 or
// 403 with an HTML page (a load balancer that lost its route, a WAF) is not
// the exchange rejecting the refresh token: the stored session and
// last-user stay, the old token is served, and the error names the call and
// the status, matching neither ErrSessionExpired nor ErrNotLoggedIn.
func TestProxyPageOnRefreshKeepsSession(t *testing.T) {
	t.Parallel()
	for _, status := range []int{404, 403} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{}, session.Config{})
			tok := f.login(t)
			rec, err := storedRecord(t, f.store, f.m.Status().Environment)
			if err != nil {
				t.Fatal(err)
			}
			f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: status, HTML: true})
			err = f.m.Refresh(t.Context())
			checkProxyError(t, err, status)
			assertKept(t, f, rec, tok)
			if st := f.m.Status(); st.Failures != 1 || st.Retrying == nil {
				t.Errorf("Status: failures %d, retrying %v; want 1 and the error", st.Failures, st.Retrying)
			}
		})
	}
}

// checkProxyError checks that err says a refresh got status and nothing
// about the session having ended.
func checkProxyError(t *testing.T, err error, status int) {
	t.Helper()
	var ae *traderapi.APIError
	switch {
	case err == nil:
		t.Fatal("Refresh = nil, want the proxy's answer as an error")
	case errors.Is(err, session.ErrSessionExpired) || errors.Is(err, session.ErrNotLoggedIn):
		t.Errorf("a proxy's %d page ended the session: %v", status, err)
	case !errors.As(err, &ae) || ae.StatusCode != status:
		t.Errorf("error %v: want an APIError with status %d", err, status)
	case !strings.Contains(err.Error(), "refresh") || !strings.Contains(err.Error(), strconv.Itoa(status)):
		t.Errorf("error %q does not say that the refresh got %d", err, status)
	}
	t.Logf("%d: %v", status, err)
}

// TestProxyPageOnStaleTokenServesOldToken (item 3, through Token): with a
// stale token, Token starts the refresh, which gets a 404 HTML page; the
// old token is served meanwhile and afterwards, and the store is untouched.
func TestProxyPageOnStaleTokenServesOldToken(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 4 * time.Second}, session.Config{Jitter: -1})
	tok := f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 404, HTML: true})
	waitFor(t, 10*time.Second, "the token to go stale", func() bool { return f.m.Status().Stale })
	if got, err := f.m.Token(t.Context()); err != nil || got != tok {
		t.Fatalf("Token on a stale token = %v; want the old token", err)
	}
	waitFor(t, 10*time.Second, "the refresh to fail", func() bool { return f.m.Status().Failures > 0 })
	checkProxyError(t, f.m.Status().Retrying, 404)
	if st := f.m.Status(); !st.LoggedIn {
		t.Skip("the token expired meanwhile: the machine is too slow for this check") // 2 s window
	}
	assertKept(t, f, rec, tok)
}

// reloginConfig logs in again with the test password and counts the
// times it was asked.
func reloginConfig(asked *int, mu *sync.Mutex) session.Config {
	return session.Config{Relogin: func(context.Context, string) (session.Credentials, error) {
		mu.Lock()
		defer mu.Unlock()
		*asked++
		return session.Credentials{Username: testUser, Password: testPassword}, nil
	}}
}

// TestReloginUnavailableKeepsSession (item 4): the refresh token is
// rejected and the relogin's login answers 503: the stored session stays,
// the error matches ErrUnavailable and not ErrSessionExpired, the login was
// retried, and once the fault clears the next refresh logs in again.
func TestReloginUnavailableKeepsSession(t *testing.T) {
	t.Parallel()
	var asked int
	var mu sync.Mutex
	f := setup(t, traderapitest.Options{}, reloginConfig(&asked, &mu))
	tok := f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeRefreshTokens(testUser)
	f.srv.ResetCounters()
	f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 503})
	err = f.m.Refresh(t.Context())
	t.Logf("relogin under 503: %v", err)
	if !errors.Is(err, traderapi.ErrUnavailable) || errors.Is(err, session.ErrSessionExpired) {
		t.Fatalf("Refresh = %v; want ErrUnavailable and not ErrSessionExpired", err)
	}
	if n := f.srv.Calls(traderapi.PathLogin); n < 2 {
		t.Errorf("relogin login calls = %d; want the 503 retried", n)
	}
	assertKept(t, f, rec, tok)

	f.srv.ClearFaults()
	logins := f.srv.Calls(traderapi.PathLogin)
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh once the exchange is back: %v", err)
	}
	if n := f.srv.Calls(traderapi.PathLogin) - logins; n != 1 {
		t.Errorf("logins after the fault cleared = %d, want 1", n)
	}
	now, err := f.m.Token(t.Context())
	if err != nil || now == tok {
		t.Fatalf("no new token after the relogin (%v)", err)
	}
	got, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil || got.AccessToken != now || got.RefreshToken == rec.RefreshToken {
		t.Errorf("the relogin's session was not stored (err %v)", err)
	}
}

// TestReloginRetriedWithinOneRefresh (item 4): two 503s then the real
// answer: one Refresh logs in again, through the relogin's retries.
func TestReloginRetriedWithinOneRefresh(t *testing.T) {
	t.Parallel()
	var asked int
	var mu sync.Mutex
	f := setup(t, traderapitest.Options{}, reloginConfig(&asked, &mu))
	tok := f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	f.srv.ResetCounters()
	f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 503, Times: 2})
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh with two 503s to the relogin: %v", err)
	}
	if n := f.srv.Calls(traderapi.PathLogin); n != 3 {
		t.Errorf("login calls = %d, want 3 (two 503s, then success)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 3 {
		t.Errorf("Relogin asked %d times, want 3 (fresh credentials for each attempt)", asked)
	}
	if now, err := f.m.Token(t.Context()); err != nil || now == tok {
		t.Errorf("no new token after the relogin (%v)", err)
	}
}

// TestReloginRejectedEndsSession (item 4): a 401 to the relogin's login is
// the credentials' rejection: the session ends with ErrSessionExpired (not
// ErrUnavailable), its record is removed, and the login is not retried.
func TestReloginRejectedEndsSession(t *testing.T) {
	t.Parallel()
	var asked int
	var mu sync.Mutex
	f := setup(t, traderapitest.Options{}, reloginConfig(&asked, &mu))
	f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	f.srv.ResetCounters()
	f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 401})
	err := f.m.Refresh(t.Context())
	t.Logf("relogin refused: %v", err)
	if !errors.Is(err, session.ErrSessionExpired) || errors.Is(err, traderapi.ErrUnavailable) {
		t.Fatalf("Refresh = %v; want ErrSessionExpired and not ErrUnavailable", err)
	}
	if n := f.srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login calls = %d, want 1: a rejection is not retried", n)
	}
	wantTombstone(t, f.store, f.m.Status().Environment)
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrSessionExpired) {
		t.Errorf("Token = %v, want ErrSessionExpired", err)
	}
}
