package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestTransientRefreshFailuresAreRetried: 5xx, 429 and resets are retried
// while the old token keeps being served, and the session survives.
func TestTransientRefreshFailuresAreRetried(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]traderapitest.Fault{
		"503":   {Status: 503, Times: 2},
		"502":   {Status: 502, Times: 2},
		"reset": {Reset: true, Times: 2},
		"html":  {HTML: true, Status: 502, Times: 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{}, session.Config{})
			first := f.login(t)
			f.srv.InjectFault(traderapi.PathRefresh, fault)
			if err := f.m.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh through 2 transient failures: %v", err)
			}
			if n := f.srv.Calls(traderapi.PathRefresh); n != 3 {
				t.Errorf("refresh calls = %d, want 3 (2 failures + 1 success)", n)
			}
			if tok, _ := f.m.Token(t.Context()); tok == first {
				t.Errorf("token not replaced")
			}
			if _, err := storedRecord(t, f.store, f.m.Status().Environment); err != nil {
				t.Errorf("stored session lost: %v", err)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 429, RetryAfter: "1", Times: 1})
	start := time.Now()
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh after a 429: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %s, before the server's Retry-After of 1 s", waited)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 2 {
		t.Fatalf("refresh calls = %d, want 2", n)
	}
}

// TestRetriesAreBounded: a refresh endpoint that keeps failing is called
// Attempts times, the error says why, the old token is still served and the
// stored session is intact.
func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	first := f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
	err := f.m.Refresh(t.Context())
	if !errors.Is(err, traderapi.ErrUnavailable) {
		t.Fatalf("Refresh against a dead endpoint = %v, want ErrUnavailable", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 4 {
		t.Fatalf("refresh calls = %d, want Attempts = 4", n)
	}
	if tok, err := f.m.Token(t.Context()); err != nil || tok != first {
		t.Fatalf("the still-valid token is not served after a failed refresh (%v)", err)
	}
	if _, err := storedRecord(t, f.store, f.m.Status().Environment); err != nil {
		t.Fatalf("stored session lost after a transient failure: %v", err)
	}
}

func TestRejectedRefreshTokenEndsSession(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	err := f.m.Refresh(t.Context())
	if !errors.Is(err, session.ErrSessionExpired) {
		t.Fatalf("Refresh with a revoked refresh token = %v, want ErrSessionExpired", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Errorf("a rejected refresh token was retried: %d calls", n)
	}
	wantTombstone(t, f.store, f.m.Status().Environment)
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrSessionExpired) {
		t.Errorf("Token after the session ended = %v, want ErrSessionExpired", err)
	}
}

func TestReloginCallbackRecoversSession(t *testing.T) {
	t.Parallel()
	var asked int
	f := setup(t, traderapitest.Options{}, session.Config{
		Relogin: func(ctx context.Context, username string) (session.Credentials, error) {
			asked++
			return session.Credentials{Username: username, Password: testPassword}, nil
		},
	})
	first := f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh with a relogin callback: %v", err)
	}
	if asked != 1 || f.srv.Calls(traderapi.PathLogin) != 2 {
		t.Fatalf("relogin asked %d times, logins %d; want 1 and 2", asked, f.srv.Calls(traderapi.PathLogin))
	}
	if tok, err := f.m.Token(t.Context()); err != nil || tok == first {
		t.Fatalf("no new token after relogin (%v)", err)
	}
	if _, err := storedRecord(t, f.store, f.m.Status().Environment); err != nil {
		t.Fatalf("relogin did not store the new session: %v", err)
	}
}

func TestLogoutWhenServerUnreachable(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Reset: true})
	err := f.m.Logout(t.Context())
	if !errors.Is(err, session.ErrNotRevoked) || !errors.Is(err, traderapi.ErrUnreachable) {
		t.Fatalf("Logout with the server unreachable = %v, want ErrNotRevoked wrapping ErrUnreachable", err)
	}
	wantLoggedOut(t, f.store, keystore.Key{Environment: f.m.Status().Environment, Username: testUser})
}

// TestBackgroundRefresher: with Start, tokens are refreshed as they go stale
// without any caller asking, so no request ever waits.
func TestBackgroundRefresher(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 2 * time.Second}, session.Config{})
	f.login(t)
	f.m.Start(t.Context())
	waitFor(t, 4*time.Second, "two background refreshes", func() bool { return f.srv.Calls(traderapi.PathRefresh) >= 2 })
	if st := f.m.Status(); !st.LoggedIn {
		t.Fatalf("not logged in after background refreshes: %+v", st)
	}
	_ = f.m.Close()
}
