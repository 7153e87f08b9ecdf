package session_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestLoginStoresSessionAndLogoutRevokes(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	env := f.m.Status().Environment

	rec, err := storedRecord(t, f.store, env)
	if err != nil {
		t.Fatalf("stored record: %v", err)
	}
	if rec.RefreshToken == "" || rec.AccessToken != tok || rec.Username != testUser || rec.Environment != env {
		t.Fatalf("stored record does not match the session: %#v", rec)
	}
	if rec.RefreshExpiry.Before(time.Now().Add(6 * 24 * time.Hour)) {
		t.Errorf("refresh expiry %s: want about 7 days ahead", rec.RefreshExpiry)
	}
	if last, err := f.store.LastUser(t.Context(), env); err != nil || last != testUser {
		t.Errorf("LastUser = %q, %v", last, err)
	}
	st := f.m.Status()
	if !st.LoggedIn || st.Stale || st.Username != testUser || time.Until(st.AccessExpiry) < 59*time.Minute {
		t.Errorf("Status after login = %+v", st)
	}

	if err := f.m.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if n := f.srv.Calls(traderapi.PathLogout); n != 1 {
		t.Errorf("logout calls = %d, want 1", n)
	}
	wantLoggedOut(t, f.store, keystore.Key{Environment: env, Username: testUser})
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Errorf("Token after logout: %v, want ErrNotLoggedIn", err)
	}
	// The server revoked the refresh token: using it again fails.
	if _, err := f.client.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: rec.RefreshToken}); !errors.Is(err, traderapi.ErrUnauthorized) {
		t.Errorf("refresh with the revoked token: %v, want ErrUnauthorized", err)
	}
}

func TestTokenBeforeLoginIsNotLoggedIn(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Token = %v, want ErrNotLoggedIn", err)
	}
	if err := f.m.Resume(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Resume with an empty store = %v, want ErrNotLoggedIn", err)
	}
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	err := f.m.Login(t.Context(), testUser, "wrong-password-1234", "")
	if !errors.Is(err, traderapi.ErrUnauthorized) {
		t.Fatalf("wrong password: %v, want ErrUnauthorized", err)
	}
	if _, err := storedRecord(t, f.store, f.m.Status().Environment); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a failed login stored something: %v", err)
	}
}

// TestRefreshStormMakesOneRequest: 10,000 goroutines asking for a token at
// the margin cause exactly one refresh request, and all get a valid token.
func TestRefreshStormMakesOneRequest(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 2 * time.Second}, session.Config{})
	first := f.login(t)
	// Margin 60 s is capped at half the 2 s lifetime: stale after 1 s.
	waitFor(t, 3*time.Second, "the token to go stale", func() bool { return f.m.Status().Stale })
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Latency: 200 * time.Millisecond})

	var wg sync.WaitGroup
	errs := make(chan error, 10000)
	for range 10000 {
		wg.Go(func() {
			tok, err := f.m.Token(t.Context())
			if err != nil || tok == "" {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Token during the storm: %v", err)
	}
	waitFor(t, 3*time.Second, "the refresh to land", func() bool { return !f.m.Status().Stale })
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Fatalf("refresh calls = %d, want exactly 1", n)
	}
	if tok, _ := f.m.Token(t.Context()); tok == first {
		t.Fatalf("token was not replaced by the refresh")
	}
}

// TestSkewedServerClock: server times an hour off the local clock change
// nothing: the token is neither refreshed early nor used late.
func TestSkewedServerClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{
				AccessTTL: 2 * time.Second,
				Now:       func() time.Time { return time.Now().Add(skew) },
			}, session.Config{})
			first := f.login(t)
			// Fresh: no refresh yet, served from memory.
			time.Sleep(500 * time.Millisecond)
			if tok, err := f.m.Token(t.Context()); err != nil || tok != first {
				t.Fatalf("Token 0.5 s after login: changed or failed (%v)", err)
			}
			if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
				t.Fatalf("refreshed %d times within the first half of the lifetime", n)
			}
			// Not used late: after the 2 s lifetime the first token is never returned.
			time.Sleep(1700 * time.Millisecond)
			tok, err := f.m.Token(t.Context())
			if err != nil || tok == first {
				t.Fatalf("Token after expiry returned the expired token (or failed: %v)", err)
			}
			if n := f.srv.Calls(traderapi.PathRefresh); n < 1 {
				t.Fatalf("no refresh after expiry")
			}
		})
	}
}

// TestExpiredCallerGivesUpRefreshGoesOn: a caller with nothing valid waits;
// when its context ends the shared refresh still completes for the others.
func TestExpiredCallerGivesUpRefreshGoesOn(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: time.Second}, session.Config{})
	first := f.login(t)
	waitFor(t, 3*time.Second, "the token to expire", func() bool { return !f.m.Status().LoggedIn })
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Latency: 300 * time.Millisecond, Times: 1})

	ctx, cancel := contextWithTimeout(t, 50*time.Millisecond)
	defer cancel()
	if _, err := f.m.Token(ctx); err == nil {
		t.Fatalf("Token with a 50 ms deadline and a 300 ms refresh returned no error")
	}
	waitFor(t, 3*time.Second, "the detached refresh to land", func() bool { return f.m.Status().LoggedIn })
	tok, err := f.m.Token(t.Context())
	if err != nil || tok == first {
		t.Fatalf("Token after the detached refresh: same token or error %v", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Fatalf("refresh calls = %d, want 1", n)
	}
}

func TestResumeUsesCachedTokenThenRefreshes(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)

	// A second process: same store, no password.
	m2, err := session.New(session.Config{Client: f.client, Store: f.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Resume(t.Context()); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	got, err := m2.Token(t.Context())
	if err != nil || got != tok {
		t.Fatalf("Resume did not use the cached access token (err %v)", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Fatalf("Resume with a valid cached token made %d refresh calls", n)
	}

	// With the cached access token gone, Resume makes no call; the first
	// Token refreshes with the stored refresh token.
	rec, _ := storedRecord(t, f.store, f.m.Status().Environment)
	rec.AccessToken, rec.AccessExpiry = "", time.Time{}
	if err := f.store.Set(t.Context(), keystore.Key{Environment: rec.Environment, Username: testUser}, rec); err != nil {
		t.Fatal(err)
	}
	m3, _ := session.New(session.Config{Client: f.client, Store: f.store, Username: testUser})
	if err := m3.Resume(t.Context()); err != nil {
		t.Fatalf("Resume without a cached access token: %v", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Fatalf("Resume made %d refresh calls, want 0", n)
	}
	if _, err := m3.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Fatalf("refresh calls = %d, want 1", n)
	}
	if got, _ := m3.Token(t.Context()); got == "" || got == tok {
		t.Fatalf("Resume did not produce a new token")
	}
}

func TestResumeExpiredStoredSession(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	rec, _ := storedRecord(t, f.store, f.m.Status().Environment)
	rec.RefreshExpiry = time.Now().Add(-time.Minute)
	rec.AccessExpiry = time.Now().Add(-time.Minute)
	if err := f.store.Set(t.Context(), keystore.Key{Environment: rec.Environment, Username: testUser}, rec); err != nil {
		t.Fatal(err)
	}
	m2, _ := session.New(session.Config{Client: f.client, Store: f.store})
	if err := m2.Resume(t.Context()); !errors.Is(err, session.ErrSessionExpired) {
		t.Fatalf("Resume of an expired session = %v, want ErrSessionExpired", err)
	}
	wantTombstone(t, f.store, f.m.Status().Environment)
}

// TestLoginAfterPasswordChange: after the password changes (through the
// client: the manager needs only login, refresh and logout), the session
// goes on, the old password is refused and the new one logs in.
func TestLoginAfterPasswordChange(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	const newPassword = traderapi.Secret("brand-new-password-99")
	if _, err := f.client.ChangePassword(t.Context(), traderapi.ChangePasswordRequest{Username: testUser, OldPassword: testPassword, NewPassword: newPassword}); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := f.m.Token(t.Context()); err != nil {
		t.Errorf("the session after a password change: %v", err)
	}
	if err := f.m.Login(t.Context(), testUser, testPassword, ""); !errors.Is(err, traderapi.ErrUnauthorized) {
		t.Errorf("old password still works: %v", err)
	}
	if err := f.m.Login(t.Context(), testUser, newPassword, ""); err != nil {
		t.Errorf("new password: %v", err)
	}
}

// TestLoggedOutIsNotNeverLoggedIn: a manager that never logged in says
// not logged in; one that logged out, and another process that resumes
// the logged-out record, say logged out, which is also not logged in.
func TestLoggedOutIsNotNeverLoggedIn(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	_, err := f.m.Token(t.Context())
	if !errors.Is(err, session.ErrNotLoggedIn) || errors.Is(err, session.ErrLoggedOut) {
		t.Fatalf("Token before any login = %v, want ErrNotLoggedIn only", err)
	}
	f.login(t)
	if err := f.m.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrLoggedOut) || !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Token after Logout = %v, want ErrLoggedOut (and ErrNotLoggedIn)", err)
	}
	other, err := session.New(session.Config{Client: f.client, Store: f.store, Username: testUser})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Resume(t.Context()); !errors.Is(err, session.ErrLoggedOut) {
		t.Fatalf("Resume of a logged-out record = %v, want ErrLoggedOut", err)
	}
}
