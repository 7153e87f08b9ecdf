package traderapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func isErr(err, target error) bool { return errors.Is(err, target) }

func asAPIError(err error, target **traderapi.APIError) bool { return errors.As(err, target) }

// allSentinels are the errors a caller branches on.
var allSentinels = []error{
	traderapi.ErrUnauthorized, traderapi.ErrForbidden, traderapi.ErrOTPRequired, traderapi.ErrRateLimited,
	traderapi.ErrUnavailable, traderapi.ErrUnreachable, traderapi.ErrMalformedResponse,
}

// wantOnly checks that err matches the wanted sentinels and no other.
func wantOnly(t *testing.T, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for _, s := range allSentinels {
		if got := errors.Is(err, s); got != slices.Contains(want, s) {
			t.Errorf("errors.Is(%q, %v) = %v", err, s, got)
		}
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error is not one line: %q", err)
	}
}

// calls runs every client method once, with valid arguments.
func calls(c *traderapi.Client, tok *traderapi.LoginResponse) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		traderapi.PathRegister: func(ctx context.Context) error {
			return second(c.Register(ctx, traderapi.RegisterRequest{Token: "eyJ.x.y", Password: password}))
		},
		traderapi.PathCheckPassword: func(ctx context.Context) error {
			return second(c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: password}))
		},
		traderapi.PathLogin: func(ctx context.Context) error {
			return second(c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password}))
		},
		traderapi.PathRefresh: func(ctx context.Context) error {
			return second(c.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: tok.RefreshToken}))
		},
		traderapi.PathLogout: func(ctx context.Context) error {
			return c.Logout(ctx, traderapi.LogoutRequest{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
		},
		traderapi.PathChangePassword: func(ctx context.Context) error {
			return second(c.ChangePassword(ctx, traderapi.ChangePasswordRequest{Username: user, OldPassword: password, NewPassword: "n3w-Password-ok"}))
		},
		traderapi.PathEnrollMFA: func(ctx context.Context) error {
			return second(c.EnrollMFA(ctx, traderapi.EnrollMFARequest{Username: user, Password: password}))
		},
		traderapi.PathConfirmMFA: func(ctx context.Context) error {
			return second(c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: user, Password: password, OTP: "123456"}))
		},
	}
}

// TestSentinelsEveryEndpoint injects each HTTP-level failure on each
// endpoint and checks the sentinel the client returns.
func TestSentinelsEveryEndpoint(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	tok := login(t, c)
	for _, tc := range []struct {
		name  string
		fault traderapitest.Fault
		want  error
	}{
		{"401", traderapitest.Fault{Status: 401, Message: "token is expired"}, traderapi.ErrUnauthorized},
		{"403", traderapitest.Fault{Status: 403, Message: "permission denied: missing required scope write:orders"}, traderapi.ErrForbidden},
		{"429", traderapitest.Fault{Status: 429, RetryAfter: "7"}, traderapi.ErrRateLimited},
		{"500", traderapitest.Fault{Status: 500}, traderapi.ErrUnavailable},
		{"502 HTML", traderapitest.Fault{Status: 502, HTML: true}, traderapi.ErrUnavailable},
		{"503", traderapitest.Fault{Status: 503}, traderapi.ErrUnavailable},
		{"reset", traderapitest.Fault{Reset: true}, traderapi.ErrUnreachable},
		{"200 HTML", traderapitest.Fault{HTML: true}, traderapi.ErrMalformedResponse},
		{"truncated", traderapitest.Fault{Status: 200, Body: []byte(`{"accessToken":"eyJhbGciOi`)}, traderapi.ErrMalformedResponse},
		{"oversized", traderapitest.Fault{Body: []byte(`{"accessToken":"a","refreshToken":"r","enrollmentUrl":"otpauth://x"}`), Oversized: true}, traderapi.ErrMalformedResponse},
		{"oversized 503", traderapitest.Fault{Status: 503, Oversized: true}, traderapi.ErrUnavailable},
		{"text", traderapitest.Fault{Body: []byte("OK"), ContentType: "text/plain"}, traderapi.ErrMalformedResponse},
	} {
		for path, call := range calls(c, tok) {
			s.InjectFault(path, tc.fault)
			err := call(t.Context())
			s.ClearFaults()
			t.Run(tc.name+" "+path, func(t *testing.T) { wantOnly(t, err, tc.want) })
			var apiErr *traderapi.APIError
			if tc.want == traderapi.ErrRateLimited && (!errors.As(err, &apiErr) || apiErr.RetryAfter != 7*time.Second) {
				t.Errorf("%s: RetryAfter of %v", path, err)
			}
		}
	}
}

func TestLoginMalformed(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	for name, f := range map[string]traderapitest.Fault{
		"truncated JSON":   {TruncatedJSON: true},
		"garbled token":    {GarbledToken: true},
		"oversized":        {Oversized: true},
		"no accessToken":   {Body: []byte(`{"refreshToken":"rt_x","accessIssueTime":"2025-01-15T10:00:00Z"}`)},
		"no refreshToken":  {Body: []byte(`{"accessToken":"eyJa.eyJb.c"}`)},
		"token with space": {Body: []byte(`{"accessToken":"a b","refreshToken":"r"}`)},
		"bad time":         {Body: []byte(`{"accessToken":"a","refreshToken":"r","accessIssueTime":"yesterday"}`)},
		"array":            {Body: []byte(`[]`)},
		"empty":            {Body: []byte{}},
		"HTML on 200":      {HTML: true},
	} {
		s.InjectFault(traderapi.PathLogin, f)
		_, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
		t.Run(name, func(t *testing.T) { wantOnly(t, err, traderapi.ErrMalformedResponse) })
	}
	s.InjectFault(traderapi.PathEnrollMFA, traderapitest.Fault{Body: []byte(`{"enrollmentUrl":"https://example.com/qr"}`)})
	_, err := c.EnrollMFA(t.Context(), traderapi.EnrollMFARequest{Username: user, Password: password})
	wantOnly(t, err, traderapi.ErrMalformedResponse)
	s.InjectFault(traderapi.PathEnrollMFA, traderapitest.Fault{Body: []byte(`{}`)})
	_, err = c.EnrollMFA(t.Context(), traderapi.EnrollMFARequest{Username: user, Password: password})
	wantOnly(t, err, traderapi.ErrMalformedResponse)
	s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{GarbledToken: true})
	_, err = c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: "rt"})
	wantOnly(t, err, traderapi.ErrUnauthorized) // the real answer (unknown refresh token) is a 401
	s.ClearFaults()
	tok := login(t, c)
	s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{GarbledToken: true})
	_, err = c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: tok.RefreshToken})
	wantOnly(t, err, traderapi.ErrMalformedResponse)
	if !strings.Contains(err.Error(), "not a complete JWT") {
		t.Fatalf("garbled token error %q", err)
	}
}

func TestContextDeadline(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	s.InjectFault(traderapitest.AnyPath, traderapitest.Fault{Latency: 10 * time.Second})
	tok := &traderapi.LoginResponse{AccessToken: "a", RefreshToken: "r"}
	for path, call := range calls(c, tok) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, traderapi.ErrUnreachable) {
			t.Errorf("%s: %v, want context.DeadlineExceeded only", path, err)
		}
		if took > time.Second {
			t.Errorf("%s: took %s to honour a 50ms deadline", path, took)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password}); !errors.Is(err, context.Canceled) {
		t.Fatalf("login with a cancelled context: %v", err)
	}
	// A slow body is cut by the deadline as well.
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{SlowBody: 5 * time.Second})
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("login with a slow body: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	s.Close()
	_, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
	wantOnly(t, err, traderapi.ErrUnreachable)
	var ne *traderapi.NetError
	if !errors.As(err, &ne) || ne.Endpoint != traderapi.PathLogin || ne.Unwrap() == nil {
		t.Fatalf("closed server: %#v", err)
	}
	if strings.Contains(err.Error(), password.Reveal()) {
		t.Fatal("the error holds the password")
	}
}

func TestAPIErrorFields(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	h := http.Header{}
	h.Set("X-Request-Id", "req-123")
	h.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="Token has expired"`)
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 401, Message: "token is expired", Header: h})
	_, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
	var e *traderapi.APIError
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	if e.Endpoint != traderapi.PathLogin || e.StatusCode != 401 || e.Code != 16 || e.Message != "token is expired" ||
		e.RequestID != "req-123" || e.WWWAuthenticate != h.Get("WWW-Authenticate") || len(e.Details) != 0 {
		t.Fatalf("APIError %#v", e)
	}
	if got, want := e.Error(), "/auth/v1beta1/login: 401 Unauthorized: token is expired [request req-123] — "; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, e.Diagnosis()) {
		t.Fatalf("Error() = %q, want %q followed by the diagnosis", got, want)
	}
}
