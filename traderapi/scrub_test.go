package traderapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Values that look like no token pattern, so only scrubbing by value can
// keep them out of the output.
const (
	echoPassword = "plain Pass<word>&\"7\" long"
	echoNew      = "another-Plain-passw0rd"
	echoOTP      = "482913"
	echoReg      = "opaque-registration-token-777"
	echoAccess   = "opaque-access-token-0123456789"
	echoRefresh  = "opaque-refresh-token-9876543210"
)

// echoServer answers every call with everything the client sent echoed
// back in every place an error quotes: the message, the details, the
// WWW-Authenticate and X-Request-Id headers, or an HTML page or plain text.
func echoServer(t *testing.T, status int, shape string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(body, &m)
		var vals []string
		for _, v := range m {
			vals = append(vals, v)
		}
		vals = append(vals, r.Header.Get("Authorization"))
		echo := "u1 " + strings.Join(vals, " ")
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="bad `+strings.ReplaceAll(echo, `"`, `\"`)+`"`)
		w.Header().Set("X-Request-Id", echo)
		switch shape {
		case "json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 16, "message": "invalid: " + echo,
				"details": []any{map[string]string{"echo": echo}}})
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html><body>invalid: %s</body></html>", echo)
		default:
			w.WriteHeader(status)
			fmt.Fprintf(w, "invalid: %s", echo)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestErrorsScrubEchoedSecrets: a server echoing every value sent back
// gets none of them printed, in the error, its fields, its diagnosis or
// the debug trace, for every endpoint.
func TestErrorsScrubEchoedSecrets(t *testing.T) {
	t.Parallel()
	calls := map[string]func(context.Context, *traderapi.Client) error{
		"register": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.Register(ctx, traderapi.RegisterRequest{Token: echoReg, Password: echoPassword})
			return err
		},
		"check_password": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: echoPassword})
			return err
		},
		"login": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.Login(ctx, traderapi.LoginRequest{Username: "u1", Password: echoPassword, OTP: echoOTP})
			return err
		},
		"refresh": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: echoRefresh})
			return err
		},
		"logout": func(ctx context.Context, c *traderapi.Client) error {
			return c.Logout(ctx, traderapi.LogoutRequest{AccessToken: echoAccess, RefreshToken: echoRefresh})
		},
		"change_password": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.ChangePassword(ctx, traderapi.ChangePasswordRequest{Username: "u1", OldPassword: echoPassword, NewPassword: echoNew})
			return err
		},
		"enroll_mfa": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.EnrollMFA(ctx, traderapi.EnrollMFARequest{Username: "u1", Password: echoPassword})
			return err
		},
		"confirm_mfa": func(ctx context.Context, c *traderapi.Client) error {
			_, err := c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: "u1", Password: echoPassword, OTP: echoOTP})
			return err
		},
	}
	for _, tc := range []struct {
		status int
		shape  string
	}{{401, "json"}, {403, "json"}, {400, "html"}, {502, "text"}, {200, "text"}, {200, "html"}} {
		srv := echoServer(t, tc.status, tc.shape)
		for name, call := range calls {
			var trace bytes.Buffer
			c, err := traderapi.NewClient(traderapi.Environment{Name: "t", BaseURL: srv.URL}, traderapi.WithDebug(&trace))
			if err != nil {
				t.Fatal(err)
			}
			err = call(t.Context(), c)
			if err == nil {
				t.Fatalf("%d %s %s: no error", tc.status, tc.shape, name)
			}
			out := err.Error() + fmt.Sprintf("\n%+v\n%#v\n", err, err) + trace.String()
			var ae *traderapi.APIError
			if errors.As(err, &ae) {
				out += "\n" + ae.Diagnosis()
				for _, d := range ae.Details {
					out += "\n" + string(d)
				}
			}
			assertNoSecrets(t, fmt.Sprintf("%d %s %s", tc.status, tc.shape, name), out)
			if !strings.Contains(out, "[REDACTED]") {
				t.Errorf("%d %s %s: nothing marked redacted:\n%s", tc.status, tc.shape, name, out)
			}
		}
	}
}

func assertNoSecrets(t *testing.T, what, out string) {
	t.Helper()
	for _, v := range []string{echoPassword, "Pass<word>", `Pass\u003cword`, echoNew, echoOTP, echoReg, echoAccess, echoRefresh} {
		if strings.Contains(out, v) {
			t.Fatalf("%s: %q printed:\n%s", what, v, out)
		}
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	got := traderapi.Scrub(`pw "a\"b<c" or a"b<c, short abc`, `a"b<c`, "abc")
	if got != `pw "[REDACTED]" or [REDACTED], short abc` {
		t.Fatalf("Scrub = %q", got)
	}
}
