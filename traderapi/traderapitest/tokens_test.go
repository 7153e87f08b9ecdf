package traderapitest_test

import (
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func TestLoginResponse(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	a := login(t, s, alice, alicePW)
	keys := slices.Sorted(maps.Keys(a.json))
	want := []string{"accessExpirationTime", "accessIssueTime", "accessToken", "refreshExpirationTime", "refreshIssueTime", "refreshToken"}
	if !slices.Equal(keys, want) {
		t.Fatalf("login fields %v, want exactly %v", keys, want)
	}
	for k, v := range map[string]string{
		"accessIssueTime":       "2025-01-15T10:00:00Z",
		"accessExpirationTime":  "2025-01-15T11:00:00Z",
		"refreshIssueTime":      "2025-01-15T10:00:00Z",
		"refreshExpirationTime": "2025-01-22T10:00:00Z",
	} {
		if a.str(k) != v {
			t.Errorf("%s = %q, want %q", k, a.str(k), v)
		}
	}
	var header struct{ Alg, Typ string }
	decodeJWTPart(t, a.str("accessToken"), 0, &header)
	var claims struct {
		Sub, Iss, Jti string
		Aud           []string
		Iat, Exp      int64
	}
	decodeJWTPart(t, a.str("accessToken"), 1, &claims)
	if header.Alg != "HS256" || claims.Sub != alice || claims.Iss != "https://"+traderapitest.DefaultHost ||
		claims.Iat != t0.Unix() || claims.Exp != t0.Add(time.Hour).Unix() || claims.Jti == "" ||
		!slices.Equal(claims.Aud, []string{traderapitest.DefaultHost}) {
		t.Fatalf("access token header %+v claims %+v", header, claims)
	}
	if rt := a.str("refreshToken"); strings.HasPrefix(rt, "eyJ") || len(rt) < 40 {
		t.Fatalf("opaque refresh token expected, got %d chars", len(rt))
	}
	if user, err := s.Authenticate(a.str("accessToken")); err != nil || user != alice {
		t.Fatalf("Authenticate = %q, %v", user, err)
	}
	b := login(t, s, alice, alicePW)
	if b.str("accessToken") == a.str("accessToken") || b.str("refreshToken") == a.str("refreshToken") {
		t.Fatal("two logins got the same tokens")
	}
	wantError(t, post(t, s, traderapi.PathLogin, map[string]string{"username": alice, "password": "nope-nope-123"}),
		http.StatusUnauthorized, 16, "invalid username or password")
	wantError(t, post(t, s, traderapi.PathLogin, map[string]string{"username": "nobody", "password": alicePW}),
		http.StatusUnauthorized, 16, "invalid username or password")
}

func TestJWTRefreshTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{JWTRefreshTokens: true, Issuer: "https://issuer.test", RefreshTTL: 48 * time.Hour})
	a := login(t, s, alice, alicePW)
	var claims jwt.RegisteredClaims
	decodeJWTPart(t, a.str("refreshToken"), 1, &claims)
	if claims.Subject != alice || claims.Issuer != "https://issuer.test" || !claims.ExpiresAt.Equal(t0.Add(48*time.Hour)) {
		t.Fatalf("refresh claims %+v", claims)
	}
	// A refresh token is not an access token, nor the other way round.
	wantError(t, post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", a.str("refreshToken")), http.StatusUnauthorized, 16, "invalid access token")
	wantError(t, post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": a.str("accessToken")}), http.StatusUnauthorized, 16, "invalid refresh token")
}

func TestRefreshAndExpiry(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{AccessTTL: time.Second, RefreshTTL: 3 * time.Second})
	a := login(t, s, alice, alicePW)
	access, refresh := a.str("accessToken"), a.str("refreshToken")
	order := func(tok string) answer {
		return post(t, s, traderapi.PathInsertOrder, `{"symbol":"x"}`, "Authorization", tok)
	}
	if o := order(access); o.status != http.StatusOK || o.str("status") != "accepted" || o.str("orderId") == "" {
		t.Fatalf("insert_order: %d %s", o.status, o.raw)
	}
	s.Advance(time.Second)
	wantError(t, order(access), http.StatusUnauthorized, 16, "access token expired")

	r := post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": refresh})
	keys := slices.Sorted(maps.Keys(r.json))
	if r.status != http.StatusOK || !slices.Equal(keys, []string{"accessExpirationTime", "accessIssueTime", "accessToken"}) {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	if r.str("accessIssueTime") != "2025-01-15T10:00:01Z" || r.str("accessExpirationTime") != "2025-01-15T10:00:02Z" {
		t.Fatalf("refresh times %s", r.raw)
	}
	if o := order(r.str("accessToken")); o.status != http.StatusOK {
		t.Fatalf("insert_order with the refreshed token: %d %s", o.status, o.raw)
	}
	s.Advance(2 * time.Second)
	wantError(t, post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": refresh}),
		http.StatusUnauthorized, 16, "refresh token expired: log in again")
	wantError(t, post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": "rt_unknown"}),
		http.StatusUnauthorized, 16, "invalid refresh token")
}

func TestSubSecondLifetimes(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{AccessTTL: 1500 * time.Millisecond})
	a := login(t, s, alice, alicePW)
	if a.str("accessExpirationTime") != "2025-01-15T10:00:01.5Z" {
		t.Fatalf("accessExpirationTime %q, want sub-second precision", a.str("accessExpirationTime"))
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	a := login(t, s, alice, alicePW)
	access, refresh := a.str("accessToken"), a.str("refreshToken")
	body := map[string]string{"accessToken": access, "refreshToken": refresh}

	wantError(t, post(t, s, traderapi.PathLogout, body), http.StatusUnauthorized, 16, "missing Authorization header: send the raw access token")
	bearer := post(t, s, traderapi.PathLogout, body, "Authorization", "Bearer "+access)
	wantError(t, bearer, http.StatusUnauthorized, 16, "")
	if !strings.Contains(bearer.str("message"), `"Bearer " prefix is not accepted`) {
		t.Fatalf("Bearer message %q", bearer.str("message"))
	}
	wantError(t, post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", "bearer "+access), http.StatusUnauthorized, 16, "")
	other := login(t, s, alice, alicePW).str("accessToken")
	wantError(t, post(t, s, traderapi.PathLogout, body, "Authorization", other), http.StatusBadRequest, 3, "")

	if o := post(t, s, traderapi.PathLogout, body, "Authorization", access); o.status != http.StatusOK || string(o.raw) != "{}" {
		t.Fatalf("logout: %d %s", o.status, o.raw)
	}
	wantError(t, post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", access), http.StatusUnauthorized, 16, "access token revoked")
	wantError(t, post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": refresh}), http.StatusUnauthorized, 16, "refresh token revoked")
	wantError(t, post(t, s, traderapi.PathLogout, body, "Authorization", access), http.StatusUnauthorized, 16, "access token revoked")
	if _, err := s.Authenticate(access); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("Authenticate after logout: %v", err)
	}
	if o := post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", other); o.status != http.StatusOK {
		t.Fatalf("logout revoked another session's token: %d %s", o.status, o.raw)
	}
}

func TestRevokeHelpers(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	a := login(t, s, alice, alicePW)
	s.RevokeRefreshTokens(alice)
	wantError(t, post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": a.str("refreshToken")}), http.StatusUnauthorized, 16, "refresh token revoked")
	if o := post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", a.str("accessToken")); o.status != http.StatusOK {
		t.Fatalf("RevokeRefreshTokens revoked the access token: %d", o.status)
	}
	s.RevokeAccessTokens(alice)
	wantError(t, post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", a.str("accessToken")), http.StatusUnauthorized, 16, "access token revoked")
}
