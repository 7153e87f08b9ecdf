package isv

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// The client never makes one of seed 000's mistakes: its assertions pass
// every lint rule, verify with the registered key, and each has a new jti.
func TestClientAssertionsPassEveryRule(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	want := isvkit.Expectations{
		ClientID: testClientID, Audience: tb.authURL + "/oauth/token", APIAudience: tb.auth.Audience(),
		PublicKey: &tb.key.PublicKey,
	}
	jtis := map[string]bool{}
	for range 50 {
		a, err := src.assertion()
		if err != nil {
			t.Fatal(err)
		}
		want.Now = time.Now()
		if ps := isvkit.LintAssertion(a, want); len(ps) != 0 {
			t.Fatalf("the client's assertion breaks rules: %v", ps)
		}
		header, claims := decodeForTest(t, a)
		if len(header) != 2 || header["alg"] != "RS256" || header["typ"] != "JWT" {
			t.Fatalf("header = %v, want exactly alg RS256 and typ JWT", header)
		}
		if _, isString := claims["aud"].(string); !isString {
			t.Fatalf("aud = %#v, want a single string", claims["aud"])
		}
		if life := claims["exp"].(float64) - claims["iat"].(float64); life != isvkit.DefaultAssertionLifetime.Seconds() || life > 300 {
			t.Fatalf("exp − iat = %v s", life)
		}
		jti := claims["jti"].(string)
		if u, err := uuid.Parse(jti); err != nil || u.Version() != 4 {
			t.Fatalf("jti %q is not a random UUID", jti)
		}
		if jtis[jti] {
			t.Fatalf("jti %q reused", jti)
		}
		jtis[jti] = true
		if len(claims) != 6 {
			t.Fatalf("claims = %v, want exactly iss sub aud iat exp jti", claims)
		}
	}
}

func decodeForTest(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := jwtSegment(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// The assertion's iat comes from Config.Now, and aud is the token endpoint
// of the environment, not the API.
func TestAssertionClaimsForAnEnvironment(t *testing.T) {
	t.Parallel()
	at := time.Date(2023, 12, 22, 18, 40, 0, 0, time.UTC) // seed 003's example iat 1703270400
	src, err := New(Config{Environment: "preprod", ClientID: "YOUR_CLIENT_ID", Key: loadKey(t, "client-pkcs8.pem"),
		Now: func() time.Time { return at }, AssertionLifetime: 300 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, err := src.assertion()
	if err != nil {
		t.Fatal(err)
	}
	_, c := decodeForTest(t, a)
	want := map[string]any{"iss": "YOUR_CLIENT_ID", "sub": "YOUR_CLIENT_ID", "aud": "https://pmx-preprod.us.auth0.com/oauth/token",
		"iat": float64(1703270400), "exp": float64(1703270700)}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	ps := isvkit.LintAssertion(a, isvkit.Expectations{ClientID: "YOUR_CLIENT_ID", Audience: "https://pmx-preprod.us.auth0.com/oauth/token", Now: at.Add(time.Second)})
	if len(ps) != 0 {
		t.Fatalf("lint: %v", ps)
	}
	// Linted later, the same assertion is expired.
	ps = isvkit.LintAssertion(a, isvkit.Expectations{ClientID: "YOUR_CLIENT_ID", Audience: "https://pmx-preprod.us.auth0.com/oauth/token", Now: at.Add(301 * time.Second)})
	if len(ps) != 1 || ps[0].Rule != isvkit.RuleExpired {
		t.Fatalf("lint after exp: %v, want one expired problem", ps)
	}
}

func TestLintReportsMalformedTokens(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"", "a.b", "not.a.jwt", "eyJ.eyJ.x"} {
		ps := isvkit.LintAssertion(tok, isvkit.Expectations{})
		if len(ps) != 1 || ps[0].Rule != isvkit.RuleFormat {
			t.Errorf("isvkit.LintAssertion(%q) = %v, want one format problem", tok, ps)
		}
	}
	// An array aud that includes the token endpoint is fine; a non-UUID jti is flagged.
	key := loadKey(t, "client-pkcs1.pem")
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "c", "sub": "c", "aud": []string{"https://x/oauth/token"}, "iat": now.Unix(), "exp": now.Unix() + 60, "jti": "1",
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	ps := isvkit.LintAssertion(tok, isvkit.Expectations{ClientID: "c", Audience: "https://x/oauth/token", Now: now})
	if len(ps) != 1 || ps[0].Rule != isvkit.RuleJTI {
		t.Fatalf("lint = %v, want one jti problem", ps)
	}
}

func FuzzLintAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjIn0.sig")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOiJ4IiwiaWF0IjpbXX0.")
	f.Fuzz(func(t *testing.T, tok string) {
		for _, p := range isvkit.LintAssertion(tok, isvkit.Expectations{ClientID: "c", Audience: "a"}) {
			if p.Rule == "" || p.Message == "" {
				t.Fatalf("empty problem %#v", p)
			}
		}
	})
}

// jwtSegment decodes one base64url JWT segment, padded or not.
func jwtSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
