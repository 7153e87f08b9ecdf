package traderapitest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// isvRig is an AuthServer on loopback with one client registered.
type isvRig struct {
	auth *traderapitest.AuthServer
	url  string
	key  *rsa.PrivateKey
}

func newISVRig(t *testing.T, opts traderapitest.AuthOptions) isvRig {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	auth := traderapitest.NewAuthServer(opts)
	auth.RegisterClient("c1", &key.PublicKey, []string{"read:accounts", "read:orders"})
	srv := httptest.NewServer(auth)
	t.Cleanup(srv.Close)
	return isvRig{auth: auth, url: srv.URL, key: key}
}

func (r isvRig) assertion(t *testing.T, now time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "c1", "sub": "c1", "aud": r.url + "/oauth/token", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": rand.Text(),
	}).SignedString(r.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r isvRig) post(t *testing.T, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", r.url+"/oauth/token", strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("not JSON: %q", data)
	}
	return resp.StatusCode, out
}

func TestAuthServerTakesJSONAndForm(t *testing.T) {
	t.Parallel()
	r := newISVRig(t, traderapitest.AuthOptions{TokenTTL: 90 * time.Second})
	fields := func() map[string]string {
		return map[string]string{
			"grant_type": "client_credentials", "client_id": "c1", "audience": traderapitest.DefaultISVAudience,
			"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion":      r.assertion(t, time.Now()),
		}
	}
	j, _ := json.Marshal(fields())
	st, out := r.post(t, "application/json", string(j))
	if st != 200 || out["token_type"] != "Bearer" || out["expires_in"] != float64(90) || out["scope"] != "read:accounts read:orders" {
		t.Fatalf("JSON: %d %v", st, out)
	}
	claims, err := r.auth.VerifyAccessToken(out["access_token"].(string))
	if err != nil || claims["sub"] != "c1@clients" || claims["aud"] != traderapitest.DefaultISVAudience {
		t.Fatalf("access token: %v %v", claims, err)
	}
	form := url.Values{}
	for k, v := range fields() {
		form.Set(k, v)
	}
	form.Set("scope", "read:orders write:orders") // narrowed to what is granted
	st, out = r.post(t, "application/x-www-form-urlencoded; charset=utf-8", form.Encode())
	if st != 200 || out["scope"] != "read:orders" {
		t.Fatalf("form: %d %v", st, out)
	}
	if r.auth.Issued() != 2 || r.auth.Requests() != 2 {
		t.Fatalf("counters: issued %d requests %d", r.auth.Issued(), r.auth.Requests())
	}
}

func TestAuthServerRefusesMalformedRequests(t *testing.T) {
	t.Parallel()
	r := newISVRig(t, traderapitest.AuthOptions{})
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "audience": {traderapitest.DefaultISVAudience},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {r.assertion(t, time.Now())}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		status int
		code   string
	}{
		{"password grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
		{"no assertion type", func(v url.Values) { v.Del("client_assertion_type") }, 400, "invalid_request"},
		{"no assertion", func(v url.Values) { v.Del("client_assertion") }, 400, "invalid_request"},
		{"not a JWT", func(v url.Values) { v.Set("client_assertion", "abc") }, 401, "invalid_client_assertion"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "c2") }, 401, "invalid_client"},
		{"other audience", func(v url.Values) { v.Set("audience", "https://api.prod.polymarketexchange.com") }, 403, "access_denied"},
	} {
		v := good()
		tc.edit(v)
		st, out := r.post(t, "application/x-www-form-urlencoded", v.Encode())
		if st != tc.status || out["error"] != tc.code || out["error_description"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tc.name, st, out, tc.status, tc.code)
		}
	}
	if st, out := r.post(t, "text/plain", "x"); st != 400 || out["error"] != "invalid_request" {
		t.Errorf("text/plain: %d %v", st, out)
	}
	resp, err := http.Get(r.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct{ Keys []map[string]string }
	if json.NewDecoder(resp.Body).Decode(&jwks) != nil || len(jwks.Keys) != 1 || jwks.Keys[0]["alg"] != "RS256" || jwks.Keys[0]["d"] != "" {
		t.Fatalf("jwks: %v", jwks)
	}
}

// An injected clock decides expiry, at the token endpoint and at the API.
func TestAuthServerUsesItsClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var skip atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(skip.Load())) }
	r := newISVRig(t, traderapitest.AuthOptions{Now: clock, TokenTTL: time.Minute, Issuer: "https://pmx-preprod.us.auth0.com"})
	s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "c1", "sub": "c1", "aud": "https://pmx-preprod.us.auth0.com/oauth/token",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j1",
	}).SignedString(r.key)
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "audience": {traderapitest.DefaultISVAudience},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {s}}
	st, out := r.post(t, "application/x-www-form-urlencoded", v.Encode())
	if st != 200 {
		t.Fatalf("with Issuer set, aud is Issuer/oauth/token: %d %v", st, out)
	}
	tok := out["access_token"].(string)
	if _, err := r.auth.VerifyAccessToken(tok); err != nil {
		t.Fatal(err)
	}
	skip.Store(int64(61 * time.Second))
	if _, err := r.auth.VerifyAccessToken(tok); err == nil {
		t.Fatal("a token past its exp by the server's clock verifies")
	}
	skip.Store(0)
	api := httptest.NewServer(traderapitest.NewAPIServer(r.auth))
	defer api.Close()
	r.auth.Revoke(tok)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", api.URL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
}
