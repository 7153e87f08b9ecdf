package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestClassifyRealErrors: each kind, from an error the manager really
// returned against the local exchange with a fault injected.
func TestClassifyRealErrors(t *testing.T) {
	t.Parallel()
	type run func(t *testing.T, f *fixture) error
	login := func(pw traderapi.Secret) run {
		return func(t *testing.T, f *fixture) error { return f.m.Login(t.Context(), testUser, pw, "") }
	}
	loginWith := func(fault traderapitest.Fault) run {
		return func(t *testing.T, f *fixture) error {
			f.srv.InjectFault(traderapi.PathLogin, fault)
			return login(testPassword)(t, f)
		}
	}
	refreshWith := func(fault traderapitest.Fault) run {
		return func(t *testing.T, f *fixture) error {
			f.login(t)
			f.srv.InjectFault(traderapi.PathRefresh, fault)
			return f.m.Refresh(t.Context())
		}
	}
	tests := []struct {
		name string
		run  run
		want session.Kind
	}{
		{"token before login", func(t *testing.T, f *fixture) error { _, err := f.m.Token(t.Context()); return err }, session.KindNotLoggedIn},
		{"resume with nothing stored", func(t *testing.T, f *fixture) error { return f.m.Resume(t.Context()) }, session.KindNotLoggedIn},
		{"refresh token revoked", func(t *testing.T, f *fixture) error {
			f.login(t)
			f.srv.RevokeRefreshTokens(testUser)
			return f.m.Refresh(t.Context())
		}, session.KindSessionEnded},
		{"token after the session ended", func(t *testing.T, f *fixture) error {
			f.login(t)
			f.srv.RevokeRefreshTokens(testUser)
			_ = f.m.Refresh(t.Context())
			_, err := f.m.Token(t.Context())
			return err
		}, session.KindSessionEnded},
		{"refresh 503 every time", refreshWith(traderapitest.Fault{Status: http.StatusServiceUnavailable}), session.KindUnavailable},
		{"refresh connection reset", refreshWith(traderapitest.Fault{Reset: true}), session.KindUnavailable},
		{"refresh HTML page", refreshWith(traderapitest.Fault{HTML: true}), session.KindUnavailable},
		{"refresh 429", refreshWith(traderapitest.Fault{RetryAfter: "1"}), session.KindRateLimited},
		{"login 429", loginWith(traderapitest.Fault{RetryAfter: "7"}), session.KindRateLimited},
		{"login wrong password", login("wrong-horse-42-battery"), session.KindRejected},
		{"login 403", loginWith(traderapitest.Fault{Status: http.StatusForbidden}), session.KindForbidden},
		{"login 400", loginWith(traderapitest.Fault{Status: http.StatusBadRequest}), session.KindOther},
		{"login canceled", func(t *testing.T, f *fixture) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return f.m.Login(ctx, testUser, testPassword, "")
		}, session.KindCanceled},
		{"login, exchange gone", func(t *testing.T, f *fixture) error {
			f.srv.Close()
			return login(testPassword)(t, f)
		}, session.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{}, session.Config{})
			err := tt.run(t, f)
			if got := session.Classify(err); got != tt.want {
				t.Fatalf("Classify(%v) = %s, want %s", err, got, tt.want)
			}
		})
	}
}

// TestClassifyOTPRequired: with MFA on, a login without a code (and one with
// a wrong code) is rejected, not "other".
func TestClassifyOTPRequired(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	if _, err := f.srv.EnableMFA(testUser); err != nil {
		t.Fatal(err)
	}
	for _, code := range []traderapi.Secret{"", "000000"} {
		err := f.m.Login(t.Context(), testUser, testPassword, code)
		if got := session.Classify(err); got != session.KindRejected {
			t.Errorf("Login with a %d-digit code: Classify(%v) = %s, want rejected", len(code), err, got)
		}
	}
}

// TestRetryAfter: the wait the exchange asked for, from a real 429; none
// from other errors.

// TestClassifyOrder: an error matching several sentinels gets the kind of
// the first check in the documented order.
func TestClassifyOrder(t *testing.T) {
	t.Parallel()
	unauthorized := &traderapi.APIError{Endpoint: traderapi.PathRefresh, StatusCode: http.StatusUnauthorized}
	tests := []struct {
		err  error
		want session.Kind
	}{
		{nil, session.KindNone},
		{fmt.Errorf("session ended (%w): %w", unauthorized, session.ErrSessionExpired), session.KindSessionEnded},
		{fmt.Errorf("refresh retries stopped: %w (last error: %w)", context.DeadlineExceeded, &traderapi.APIError{StatusCode: 503}), session.KindUnavailable},
		{&traderapi.NetError{Endpoint: "/x", Err: context.DeadlineExceeded}, session.KindUnavailable},
		{fmt.Errorf("keychain: %w", keystore.ErrUnavailable), session.KindUnavailable},
		{errors.New("something"), session.KindOther},
	}
	for _, tt := range tests {
		if got := session.Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	if s := session.Kind(99).String(); s != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", s)
	}
}
