package traderapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestParseWWWAuthenticate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     traderapi.Challenge
		ok       bool
	}{
		{"quoted", `Bearer error="invalid_token", error_description="Token has expired"`,
			traderapi.Challenge{Scheme: "Bearer", Error: "invalid_token", ErrorDescription: "Token has expired"}, true},
		{"unquoted", `Bearer error=invalid_token, error_description=expired`,
			traderapi.Challenge{Scheme: "Bearer", Error: "invalid_token", ErrorDescription: "expired"}, true},
		{"realm only", `Bearer realm="Company X API"`,
			traderapi.Challenge{Scheme: "Bearer", Realm: "Company X API"}, true},
		{"scope", `Bearer realm="api", error="insufficient_scope", scope="read:positions write:orders"`,
			traderapi.Challenge{Scheme: "Bearer", Realm: "api", Error: "insufficient_scope", Scope: "read:positions write:orders"}, true},
		{"bare scope with colon", `Bearer error=insufficient_scope, scope=read:positions`,
			traderapi.Challenge{Scheme: "Bearer", Error: "insufficient_scope", Scope: "read:positions"}, true},
		{"escapes and commas in quotes", `Bearer error_description="say \"hi\", then go", error="invalid_token"`,
			traderapi.Challenge{Scheme: "Bearer", Error: "invalid_token", ErrorDescription: `say "hi", then go`}, true},
		{"case and spaces", `bearer   ERROR = "invalid_token" ,  Error_Description="x"`,
			traderapi.Challenge{Scheme: "bearer", Error: "invalid_token", ErrorDescription: "x"}, true},
		{"Bearer preferred", `Basic realm="b", Bearer realm="a", error="invalid_token"`,
			traderapi.Challenge{Scheme: "Bearer", Realm: "a", Error: "invalid_token"}, true},
		{"first when no Bearer", `Basic realm="b", Digest realm="d", nonce="n"`,
			traderapi.Challenge{Scheme: "Basic", Realm: "b"}, true},
		{"token68", `Negotiate YII=, Bearer error="invalid_token"`,
			traderapi.Challenge{Scheme: "Bearer", Error: "invalid_token"}, true},
		{"unterminated quote", `Bearer error="invalid_token`,
			traderapi.Challenge{Scheme: "Bearer", Error: "invalid_token"}, true},
		{"scheme only", `Bearer`, traderapi.Challenge{Scheme: "Bearer"}, true},
		{"empty", ``, traderapi.Challenge{}, false},
		{"spaces", "  \t ", traderapi.Challenge{}, false},
		{"param without scheme", `="x"`, traderapi.Challenge{}, false},
		{"junk quote", `"Bearer"`, traderapi.Challenge{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := traderapi.ParseWWWAuthenticate(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseWWWAuthenticate(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseWWWAuthenticate checks that no header makes the parser panic or
// loop, and that a parsed challenge always has a scheme.
func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, s := range []string{`Bearer error="invalid_token"`, `Basic realm=x, Bearer a=b==`, `"`, `a=`, `a ==,,=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, ok := traderapi.ParseWWWAuthenticate(h)
		if ok && c.Scheme == "" {
			t.Errorf("ParseWWWAuthenticate(%q) gave a challenge without a scheme", h)
		}
	})
}

// apiError calls path on the local exchange with the raw Authorization
// header auth and returns the error the response decodes to.
func apiError(t *testing.T, c *traderapi.Client, path, auth string) *traderapi.APIError {
	t.Helper()
	req, err := c.NewRequest(t.Context(), http.MethodPost, path, strings.NewReader(`{"symbol":"X"}`))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return roundTrip(t, c.HTTPClient(), req, path)
}

func roundTrip(t *testing.T, hc *http.Client, req *http.Request, endpoint string) *traderapi.APIError {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 300 {
		t.Fatalf("%s answered %d, want an error", endpoint, resp.StatusCode)
	}
	return traderapi.DecodeError(endpoint, resp, body)
}

func wantDiagnosis(t *testing.T, e *traderapi.APIError, want ...string) {
	t.Helper()
	d := e.Diagnosis()
	for _, w := range want {
		if !strings.Contains(d, w) {
			t.Errorf("Diagnosis() of %d %q = %q, want it to contain %q", e.StatusCode, e.Message, d, w)
		}
	}
	if strings.ContainsAny(d, "\r\n") || strings.Contains(d, "eyJ") || hasCLIAdvice(d) {
		t.Errorf("Diagnosis() = %q: not one line, holds a token, or gives a command line's advice", d)
	}
}

// TestDiagnosisExchange provokes the v1beta1 401s on the local exchange.
func TestDiagnosisExchange(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	tok := login(t, c)

	t.Run("expired access token", func(t *testing.T) {
		srv.Advance(2 * time.Hour)
		defer srv.Advance(-2 * time.Hour)
		e := apiError(t, c, traderapi.PathInsertOrder, tok.AccessToken.Reveal())
		wantDiagnosis(t, e, "the access token is invalid or expired: refresh it, or log in again")
	})
	t.Run("Bearer prefix", func(t *testing.T) {
		e := apiError(t, c, traderapi.PathInsertOrder, "Bearer "+tok.AccessToken.Reveal())
		wantDiagnosis(t, e, `without a "Bearer " prefix`)
	})
	t.Run("no Authorization", func(t *testing.T) {
		e := apiError(t, c, traderapi.PathInsertOrder, "")
		wantDiagnosis(t, e, "no Authorization header")
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		srv.RevokeRefreshTokens(user)
		_, err := c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: tok.RefreshToken})
		var e *traderapi.APIError
		if !errors.As(err, &e) {
			t.Fatalf("refresh: %v, want an *APIError", err)
		}
		wantDiagnosis(t, e, "refresh token was rejected", "a new login is needed")
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: "not-the-Passw0rd"})
		var e *traderapi.APIError
		if !errors.As(err, &e) {
			t.Fatalf("login: %v, want an *APIError", err)
		}
		wantDiagnosis(t, e, "username or password was rejected")
	})
	t.Run("Host override missing", func(t *testing.T) {
		bare, err := traderapi.NewClient(traderapi.Environment{Name: "sandbox", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		e := apiError(t, bare, traderapi.PathInsertOrder, tok.AccessToken.Reveal())
		wantDiagnosis(t, e, "Host header", "REST host")
	})
}

// TestDiagnosisPartnerAPI provokes the partner API's 401, 403 and 400 on the
// local sample API.
func TestDiagnosisPartnerAPI(t *testing.T) {
	t.Parallel()
	auth := traderapitest.NewAuthServer(traderapitest.AuthOptions{})
	api := httptest.NewServer(traderapitest.NewAPIServer(auth))
	t.Cleanup(api.Close)
	authSrv := httptest.NewServer(auth)
	t.Cleanup(authSrv.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	auth.RegisterClient("client-1", &key.PublicKey, []string{"read:accounts"})
	token := partnerToken(t, authSrv.URL, key)

	get := func(t *testing.T, path, bearer, participant string) *traderapi.APIError {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if participant != "" {
			req.Header.Set("x-participant-id", participant)
		}
		return roundTrip(t, api.Client(), req, path)
	}
	t.Run("invalid_token", func(t *testing.T) {
		e := get(t, "/v1/whoami", token+"x", "")
		if e.WWWAuthenticate == "" {
			t.Fatal("no WWW-Authenticate header")
		}
		wantDiagnosis(t, e, "the access token is invalid or expired (invalid_token: invalid or expired access token)")
		if ch, ok := traderapi.ParseWWWAuthenticate(e.WWWAuthenticate); !ok || ch.Error != "invalid_token" {
			t.Errorf("challenge %+v", ch)
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		e := get(t, "/v1/positions", token, "firms/F/users/u")
		wantDiagnosis(t, e, "the token lacks scope read:positions: ask support to grant it to your client ID")
	})
	t.Run("missing participant", func(t *testing.T) {
		auth.RegisterClient("client-1", &key.PublicKey, []string{"read:positions"})
		e := get(t, "/v1/positions", partnerToken(t, authSrv.URL, key), "")
		wantDiagnosis(t, e, "x-participant-id: firms/<Firm>/users/<user>")
	})
}

// partnerToken gets an access token for client-1 from the local auth server.
func partnerToken(t *testing.T, authURL string, key *rsa.PrivateKey) string {
	t.Helper()
	now := time.Now()
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "client-1", "sub": "client-1", "aud": authURL + "/oauth/token",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"grant_type":"client_credentials","client_id":"client-1",` +
		`"client_assertion_type":"urn:ietf:params:oauth:client-assertion-type:jwt-bearer",` +
		`"client_assertion":"` + assertion + `","audience":"` + traderapitest.DefaultISVAudience + `"}`
	resp, err := http.Post(authURL+"/oauth/token", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request: %d %s", resp.StatusCode, raw)
	}
	_, after, _ := strings.Cut(string(raw), `"access_token":"`)
	tok, _, _ := strings.Cut(after, `"`)
	return tok
}

// TestDiagnosisShapes covers the answers the local servers do not give.
func TestDiagnosisShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		e    traderapi.APIError
		want string
	}{
		{"insufficient_scope challenge", traderapi.APIError{StatusCode: 403,
			WWWAuthenticate: `Bearer error="insufficient_scope", scope="write:orders"`},
			"the token lacks scope write:orders"},
		{"403 without scope", traderapi.APIError{StatusCode: 403, Message: "Forbidden"},
			"authenticated but not authorized (IP allowlist, account or participant)"},
		{"seed 002 body", traderapi.APIError{Endpoint: "/v2/devices", StatusCode: 401, ErrorCode: "unauthorized",
			Message: "The access token is invalid or has expired", WWWAuthenticate: `Bearer realm="Company X API"`},
			"the access token is invalid or expired: refresh it, or log in again"},
		{"description with a token", traderapi.APIError{StatusCode: 401,
			WWWAuthenticate: "Bearer error=\"invalid_token\", error_description=\"bad eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\r\nX\""},
			"(invalid_token: bad [REDACTED] X)"},
		{"otp", traderapi.APIError{Endpoint: traderapi.PathLogin, StatusCode: 401, Code: 16, Message: "otp required"},
			"the account has MFA on"},
		{"5xx", traderapi.APIError{StatusCode: 503}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.e.Diagnosis()
			if tc.want == "" && d != "" || !strings.Contains(d, tc.want) || hasCLIAdvice(d) {
				t.Errorf("Diagnosis() = %q, want it to contain %q", d, tc.want)
			}
		})
	}
}

// hasCLIAdvice reports a command line's advice in library text: a program
// using the package adds its own.
func hasCLIAdvice(s string) bool {
	return strings.Contains(s, "pmx-login") || strings.Contains(s, "--") || strings.Contains(s, "PMX_")
}
