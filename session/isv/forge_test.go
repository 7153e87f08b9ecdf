package isv

import (
	"crypto/rsa"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// forgery is one mistake of seed 000, made on purpose.
type forgery struct {
	name string
	// edit changes good claims; sign, when set, signs instead of RS256 with
	// the client's key.
	edit func(c jwt.MapClaims, tokenURL, apiURL string, now time.Time)
	sign func(t *testing.T, c jwt.MapClaims, key *rsa.PrivateKey) string
	// wantErr is the sentinel the Go error matches; wantDesc is in the
	// server's error_description; wantRule is what isvkit.LintAssertion reports.
	wantErr  error
	wantDesc string
	wantRule string
}

func signWith(method jwt.SigningMethod, keyOf func(t *testing.T, k *rsa.PrivateKey) any) func(*testing.T, jwt.MapClaims, *rsa.PrivateKey) string {
	return func(t *testing.T, c jwt.MapClaims, k *rsa.PrivateKey) string {
		t.Helper()
		s, err := jwt.NewWithClaims(method, c).SignedString(keyOf(t, k))
		if err != nil {
			t.Fatalf("forging %s: %v", method.Alg(), err)
		}
		return s
	}
}

func sameKey(_ *testing.T, k *rsa.PrivateKey) any { return k }

func forgeries() []forgery {
	del := func(claim string) func(jwt.MapClaims, string, string, time.Time) {
		return func(c jwt.MapClaims, _, _ string, _ time.Time) { delete(c, claim) }
	}
	fs := []forgery{
		{name: "wrong key", wantErr: ErrInvalidClient, wantDesc: "signature does not verify", wantRule: isvkit.RuleSignature,
			sign: signWith(jwt.SigningMethodRS256, func(t *testing.T, _ *rsa.PrivateKey) any { return loadKey(t, "other-pkcs8.pem") })},
		{name: "aud is the API URL", wantErr: ErrInvalidClientAssertion, wantDesc: "aud must be the token endpoint", wantRule: isvkit.RuleAudience,
			edit: func(c jwt.MapClaims, _, api string, _ time.Time) { c["aud"] = api }},
		{name: "aud is the auth domain without /oauth/token", wantErr: ErrInvalidClientAssertion, wantDesc: "aud must be the token endpoint", wantRule: isvkit.RuleAudience,
			edit: func(c jwt.MapClaims, tokenURL, _ string, _ time.Time) {
				c["aud"] = strings.TrimSuffix(tokenURL, "/oauth/token")
			}},
		{name: "expired", wantErr: ErrInvalidClientAssertion, wantDesc: "exp is in the past", wantRule: isvkit.RuleExpired,
			edit: func(c jwt.MapClaims, _, _ string, now time.Time) {
				c["iat"], c["exp"] = now.Add(-200*time.Second).Unix(), now.Add(-10*time.Second).Unix()
			}},
		{name: "exp more than 5 minutes after iat", wantErr: ErrInvalidClientAssertion, wantDesc: "at most 5 minutes", wantRule: isvkit.RuleLifetime,
			edit: func(c jwt.MapClaims, _, _ string, now time.Time) {
				c["iat"], c["exp"] = now.Unix(), now.Add(301*time.Second).Unix()
			}},
		{name: "exp 584 years after iat (wraps a Duration round to 0.29 s)", wantErr: ErrInvalidClientAssertion, wantDesc: "at most 5 minutes", wantRule: isvkit.RuleLifetime,
			edit: func(c jwt.MapClaims, _, _ string, now time.Time) {
				c["iat"], c["exp"] = now.Unix(), now.Unix()+18446744074
			}},
		{name: "iat in the future", wantErr: ErrInvalidClientAssertion, wantDesc: "iat is in the future", wantRule: isvkit.RuleIssuedInFuture,
			edit: func(c jwt.MapClaims, _, _ string, now time.Time) {
				c["iat"], c["exp"] = now.Add(2*time.Minute).Unix(), now.Add(4*time.Minute).Unix()
			}},
		{name: "iss not the client", wantErr: ErrInvalidClientAssertion, wantDesc: "iss must be the client ID", wantRule: isvkit.RuleIssuer,
			edit: func(c jwt.MapClaims, _, _ string, _ time.Time) { c["iss"] = "someone-else" }},
		{name: "sub not the client", wantErr: ErrInvalidClientAssertion, wantDesc: "sub must be the client ID", wantRule: isvkit.RuleIssuer,
			edit: func(c jwt.MapClaims, _, _ string, _ time.Time) { c["sub"] = "someone-else" }},
		{name: "alg HS256", wantErr: ErrInvalidClientAssertion, wantDesc: `alg must be RS256, got "HS256"`, wantRule: isvkit.RuleAlgorithm,
			sign: signWith(jwt.SigningMethodHS256, func(t *testing.T, k *rsa.PrivateKey) any {
				pub, err := isvkit.MarshalPublicKeyPEM(&k.PublicKey) // the classic confusion: the public key as HMAC secret
				if err != nil {
					t.Fatal(err)
				}
				return pub
			})},
		{name: "alg RS384", wantErr: ErrInvalidClientAssertion, wantDesc: `got "RS384"`, wantRule: isvkit.RuleAlgorithm, sign: signWith(jwt.SigningMethodRS384, sameKey)},
		{name: "alg RS512", wantErr: ErrInvalidClientAssertion, wantDesc: `got "RS512"`, wantRule: isvkit.RuleAlgorithm, sign: signWith(jwt.SigningMethodRS512, sameKey)},
		{name: "alg PS256", wantErr: ErrInvalidClientAssertion, wantDesc: `got "PS256"`, wantRule: isvkit.RuleAlgorithm, sign: signWith(jwt.SigningMethodPS256, sameKey)},
		{name: "alg none", wantErr: ErrInvalidClientAssertion, wantDesc: `got "none"`, wantRule: isvkit.RuleAlgorithm,
			sign: signWith(jwt.SigningMethodNone, func(*testing.T, *rsa.PrivateKey) any { return jwt.UnsafeAllowNoneSignatureType })},
	}
	for _, c := range []string{"iss", "sub", "aud", "iat", "exp", "jti"} {
		fs = append(fs, forgery{name: "missing " + c, edit: del(c), wantErr: ErrInvalidClientAssertion,
			wantDesc: `missing required claim "` + c + `"`, wantRule: isvkit.RuleMissingClaim})
	}
	return fs
}

// goodClaims are the claims the client would send.
func goodClaims(tokenURL string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testClientID, "sub": testClientID, "aud": tokenURL,
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": uuid.NewString(),
	}
}

// forge returns the forged assertion.
func (f forgery) forge(t *testing.T, tb *testbed, tokenURL string, now time.Time) string {
	t.Helper()
	c := goodClaims(tokenURL, now)
	if f.edit != nil {
		f.edit(c, tokenURL, tb.auth.Audience(), now)
	}
	sign := f.sign
	if sign == nil {
		sign = signWith(jwt.SigningMethodRS256, sameKey)
	}
	return sign(t, maps.Clone(c), tb.key)
}

// Every mistake of seed 000, forged, is refused by the local token service
// over HTTP with the OAuth error the documents give, and reaches the Go
// caller as a distinguishable error.
func TestTokenServiceRefusesEachForgedMistake(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	for _, f := range forgeries() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			src := tb.source(t)
			src.assert = func() (string, error) { return f.forge(t, tb, src.TokenURL(), time.Now()), nil }
			_, err := src.Token(t.Context())
			if !errors.Is(err, f.wantErr) {
				t.Fatalf("Token = %v, want an error matching %v", err, f.wantErr)
			}
			other := ErrInvalidClient
			if f.wantErr == ErrInvalidClient {
				other = ErrInvalidClientAssertion
			}
			if errors.Is(err, other) {
				t.Fatalf("the error %v matches both invalid_client and invalid_client_assertion", err)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.API.StatusCode != 401 || !errors.Is(err, traderapi.ErrUnauthorized) {
				t.Fatalf("want a 401 *TokenError, got %#v", err)
			}
			if !strings.Contains(te.Description, f.wantDesc) {
				t.Fatalf("error_description %q does not say %q", te.Description, f.wantDesc)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Fatalf("the error quotes a JWT: %v", err)
			}
		})
	}
}

// The linter catches each forged mistake too, with the right rule.
func TestLintCatchesEachForgedMistake(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	tokenURL := tb.authURL + "/oauth/token"
	now := time.Now()
	want := isvkit.Expectations{ClientID: testClientID, Audience: tokenURL, APIAudience: tb.auth.Audience(), Now: now, PublicKey: &tb.key.PublicKey}
	for _, f := range forgeries() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ps := isvkit.LintAssertion(f.forge(t, tb, tokenURL, now), want)
			found := false
			for _, p := range ps {
				found = found || p.Rule == f.wantRule
			}
			if !found {
				t.Fatalf("isvkit.LintAssertion = %v, want a %q problem", ps, f.wantRule)
			}
		})
	}
}

// A reused jti: the first request is accepted, the replay refused.
func TestTokenServiceRefusesReusedJTI(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	src.newJTI = func() string { return "0f8fad5b-d9cb-469f-a165-70867728950e" }
	first := mustToken(t, src)
	src.Invalidate(first)
	_, err := src.Token(t.Context())
	var te *TokenError
	if !errors.Is(err, ErrInvalidClientAssertion) || !errors.As(err, &te) || !strings.Contains(te.Description, "already used") {
		t.Fatalf("replayed jti: Token = %v, want invalid_client_assertion naming the jti", err)
	}
	// With fresh jtis (the default), the same source recovers.
	src2 := tb.source(t)
	_ = mustToken(t, src2)
}

func TestTokenServiceChecksTheRequest(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	// An unregistered client is invalid_client.
	src := tb.source(t, func(c *Config) { c.ClientID = "unknown-client" })
	if _, err := src.Token(t.Context()); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("unknown client: %v, want ErrInvalidClient", err)
	}
	// An audience the tenant does not serve is access_denied, neither of the two.
	src = tb.source(t, func(c *Config) { c.Audience = "https://api.prod.polymarketexchange.com" })
	_, err := src.Token(t.Context())
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "access_denied" || errors.Is(err, ErrInvalidClient) || errors.Is(err, ErrInvalidClientAssertion) {
		t.Fatalf("wrong audience: %v, want access_denied", err)
	}
	if !strings.Contains(err.Error(), "authorized for this API audience") {
		t.Errorf("the error gives no hint: %v", err)
	}
}
