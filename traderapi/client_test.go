package traderapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	before := time.Now()
	resp := login(t, c)
	if resp.AccessToken == "" || resp.RefreshToken == "" || resp.ReceivedAt.Before(before) {
		t.Fatalf("login response %+v", resp)
	}
	if got := resp.AccessExpirationTime.Sub(resp.AccessIssueTime); got != time.Hour {
		t.Errorf("access lifetime %s, want 1h", got)
	}
	if got := resp.RefreshExpirationTime.Sub(resp.RefreshIssueTime); got != 7*24*time.Hour {
		t.Errorf("refresh lifetime %s, want 168h", got)
	}
	if u, err := s.Authenticate(resp.AccessToken.Reveal()); err != nil || u != user {
		t.Fatalf("the exchange does not accept the access token: %q %v", u, err)
	}
	r, ok := s.LastRequest(traderapi.PathLogin)
	if !ok {
		t.Fatal("the exchange saw no login")
	}
	if r.Host != traderapitest.DefaultHost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("User-Agent") != traderapi.DefaultUserAgent || r.Header.Get("Authorization") != "" {
		t.Fatalf("login request: Host %q, header %v", r.Host, traderapi.RedactHeader(r.Header))
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 2 || body["username"] != user || body["password"] != password.Reveal() {
		t.Fatalf("login body is not {username, password}: %v", err)
	}
}

func TestReceivedAtFromClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, c := setup(t, traderapi.WithClock(func() time.Time { return at }))
	if got := login(t, c).ReceivedAt; !got.Equal(at) {
		t.Fatalf("ReceivedAt = %s, want the WithClock time", got)
	}
}

func TestHostOverride(t *testing.T) {
	t.Parallel()
	s := traderapitest.NewServer(traderapitest.Options{Host: "rest.custom.example"})
	t.Cleanup(s.Close)
	if err := s.AddUser(user, password.Reveal()); err != nil {
		t.Fatal(err)
	}
	env := s.Environment()
	env.Host = "rest.preprod.polymarketexchange.com" // the preset, wrong for this exchange
	c, err := traderapi.NewClient(env, traderapi.WithHTTPClient(s.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
	var apiErr *traderapi.APIError
	if !asAPIError(err, &apiErr) || apiErr.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("login with the wrong Host: %v, want a 421", err)
	}
	if got := s.Requests()[0].Host; got != "rest.preprod.polymarketexchange.com" {
		t.Fatalf("server saw Host %q", got)
	}

	c, err = traderapi.NewClient(env, traderapi.WithHTTPClient(s.HTTPClient()), traderapi.WithHost("rest.custom.example"),
		traderapi.WithUserAgent("pmx-login-test/1"))
	if err != nil {
		t.Fatal(err)
	}
	login(t, c)
	r, _ := s.LastRequest(traderapi.PathLogin)
	if r.Host != "rest.custom.example" || r.Header.Get("User-Agent") != "pmx-login-test/1" {
		t.Fatalf("server saw Host %q, User-Agent %q", r.Host, r.Header.Get("User-Agent"))
	}
}

func TestRefreshAccessToken(t *testing.T) {
	t.Parallel()
	s, c := setupWith(t, traderapitest.Options{AccessTTL: 2 * time.Second})
	first := login(t, c)
	s.Advance(time.Second)
	resp, err := c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: first.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if resp.AccessToken == first.AccessToken || resp.RefreshToken != "" ||
		resp.AccessExpirationTime.Sub(resp.AccessIssueTime) != 2*time.Second || resp.ReceivedAt.IsZero() {
		t.Fatalf("refresh response %+v", resp)
	}
	if _, err := s.Authenticate(resp.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	r, _ := s.LastRequest(traderapi.PathRefresh)
	if string(r.Body) != `{"refreshToken":"`+first.RefreshToken.Reveal()+`"}` {
		t.Fatal("refresh body is not {refreshToken}")
	}
}

func TestLogoutSendsRawAuthorization(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	resp := login(t, c)
	if err := c.Logout(t.Context(), traderapi.LogoutRequest{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.LastRequest(traderapi.PathLogout)
	if got := r.Header.Get("Authorization"); got != resp.AccessToken.Reveal() {
		t.Fatalf("logout Authorization is not the raw access token (Bearer prefix: %v)", strings.HasPrefix(got, "Bearer"))
	}
	if _, err := s.Authenticate(resp.AccessToken.Reveal()); err == nil {
		t.Fatal("access token still valid after logout")
	}
	_, err := c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: resp.RefreshToken})
	if !isErr(err, traderapi.ErrUnauthorized) {
		t.Fatalf("refresh after logout: %v", err)
	}
	// Logging out again: the token is revoked.
	err = c.Logout(t.Context(), traderapi.LogoutRequest{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken})
	if !isErr(err, traderapi.ErrUnauthorized) || !strings.Contains(err.Error(), "access token revoked") {
		t.Fatalf("second logout: %v", err)
	}
}

func TestRegisterAndCheckPassword(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	res, err := c.CheckPassword(t.Context(), traderapi.CheckPasswordRequest{Password: "long-enough-pass-9"})
	if err != nil || res == nil {
		t.Fatalf("check_password of a good password: %v", err)
	}
	_, err = c.CheckPassword(t.Context(), traderapi.CheckPasswordRequest{Password: "short"})
	var apiErr *traderapi.APIError
	if !asAPIError(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != 3 ||
		!strings.Contains(apiErr.Message, "at least 12 characters") || len(apiErr.Details) != 1 {
		t.Fatalf("check_password of a weak password: %#v", err)
	}

	tok := traderapi.Secret(s.RegistrationToken("new-trader"))
	res, err = c.Register(t.Context(), traderapi.RegisterRequest{Token: tok, Password: "another-Passw0rd"})
	if err != nil || res.Username != "new-trader" {
		t.Fatalf("register: %+v %v", res, err)
	}
	if _, err := c.Login(t.Context(), traderapi.LoginRequest{Username: "new-trader", Password: "another-Passw0rd"}); err != nil {
		t.Fatalf("login after register: %v", err)
	}
	_, err = c.Register(t.Context(), traderapi.RegisterRequest{Token: tok, Password: "another-Passw0rd"})
	if !asAPIError(err, &apiErr) || apiErr.Code != 9 || !strings.Contains(apiErr.Message, "already used") {
		t.Fatalf("second register: %v", err)
	}
	_, err = c.Register(t.Context(), traderapi.RegisterRequest{Token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", Password: "another-Passw0rd"})
	if !isErr(err, traderapi.ErrUnauthorized) {
		t.Fatalf("register with a forged token: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	const newPW = traderapi.Secret("n3w-Password-ok")
	if _, err := c.ChangePassword(t.Context(), traderapi.ChangePasswordRequest{Username: user, OldPassword: "wrong-one-123", NewPassword: newPW}); !isErr(err, traderapi.ErrUnauthorized) {
		t.Fatalf("change_password with a wrong old password: %v", err)
	}
	if _, err := c.ChangePassword(t.Context(), traderapi.ChangePasswordRequest{Username: user, OldPassword: password, NewPassword: newPW}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password}); !isErr(err, traderapi.ErrUnauthorized) {
		t.Fatalf("login with the old password: %v", err)
	}
	if _, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: newPW}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
}

func TestInsertOrderThroughNewRequest(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	tok := login(t, c).AccessToken
	for _, tc := range []struct {
		auth   string
		status int
	}{{tok.Reveal(), 200}, {"Bearer " + tok.Reveal(), 401}, {"", 401}} {
		req, err := c.NewRequest(t.Context(), http.MethodPost, traderapi.PathInsertOrder, strings.NewReader(`{"symbol":"aec-nfl-buf-nyj-2025-01-15"}`))
		if err != nil {
			t.Fatal(err)
		}
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("insert_order with Authorization %q-prefixed: %d %s", strings.SplitN(tc.auth, " ", 2)[0][:min(6, len(tc.auth))], resp.StatusCode, b)
		}
	}
}

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	env, err := traderapi.LookupEnvironment(traderapi.Preprod)
	if err != nil || env.Host != "rest.preprod.polymarketexchange.com" ||
		env.BaseURL != "https://traderapi.us-east-1.privatelink.preprod.polymarketexchange.com" {
		t.Fatalf("preprod = %+v, %v", env, err)
	}
	if _, err := traderapi.LookupEnvironment("staging"); err == nil || !strings.Contains(err.Error(), "dev01, preprod, prod") {
		t.Fatalf("unknown environment: %v", err)
	}
	for name, tc := range map[string]struct {
		env  traderapi.Environment
		opts []traderapi.Option
		want string
	}{
		"no name":         {traderapi.Environment{BaseURL: "https://x"}, nil, "no name"},
		"no scheme":       {traderapi.Environment{Name: "x", BaseURL: "traderapi.example.com"}, nil, "not an http(s) URL"},
		"path":            {traderapi.Environment{Name: "x", BaseURL: "https://x.example/api"}, nil, "scheme and host only"},
		"bad host":        {env, []traderapi.Option{traderapi.WithHost("a b")}, "not a host name"},
		"nil http client": {env, []traderapi.Option{traderapi.WithHTTPClient(nil)}, "nil client"},
		"bad user agent":  {env, []traderapi.Option{traderapi.WithUserAgent("a\r\nb")}, "not a valid header value"},
		"nil clock":       {env, []traderapi.Option{traderapi.WithClock(nil)}, "nil clock"},
	} {
		if _, err := traderapi.NewClient(tc.env, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	c, err := traderapi.NewClient(env, traderapi.WithBaseURL("https://10.0.0.1/"), traderapi.WithTLSServerName("rest.preprod.polymarketexchange.com"))
	if err != nil || c.Environment().BaseURL != "https://10.0.0.1" {
		t.Fatalf("overrides: %+v %v", c, err)
	}
	if tr, ok := c.HTTPClient().Transport.(*http.Transport); !ok || tr.TLSClientConfig.ServerName != "rest.preprod.polymarketexchange.com" {
		t.Fatal("WithTLSServerName did not set the TLS server name")
	}
}

func TestMissingArguments(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := t.Context()
	errs := []error{
		second(c.Register(ctx, traderapi.RegisterRequest{})),
		second(c.Login(ctx, traderapi.LoginRequest{Username: user})),
		second(c.RefreshAccessToken(ctx, traderapi.RefreshRequest{})),
		c.Logout(ctx, traderapi.LogoutRequest{}),
		second(c.ChangePassword(ctx, traderapi.ChangePasswordRequest{Username: user})),
		second(c.EnrollMFA(ctx, traderapi.EnrollMFARequest{})),
		second(c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: user, Password: password})),
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "needs") {
			t.Errorf("call %d without its arguments: %v", i, err)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests sent for calls missing arguments", n)
	}
}

func second[T any](_ T, err error) error { return err }
