package cli

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// testJWT builds a token with the given claims and a recognisable
// signature part.
func testJWT(claims string) (tok, sig string) {
	enc := base64.RawURLEncoding.EncodeToString
	sig = enc([]byte("the-signature-must-not-be-printed"))
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc([]byte(claims)) + "." + sig, sig
}

func TestDecode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Date(2025, 1, 15, 10, 3, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	tok, sig := testJWT(`{"sub":"trader1","iat":1736935200,"exp":1736935200,"nbf":1736935500,"scope":"read:orders write:orders"}`)

	r := f.run(t, "Bearer "+tok+"\n", "decode")
	wantCode(t, r, 0)
	for _, want := range []string{
		"Header:\n  {\n    \"alg\": \"RS256\",",
		"\"sub\": \"trader1\"",
		"Times (UTC):\n  iat  2025-01-15 10:00:00  3m ago\n  nbf  2025-01-15 10:05:00  not valid for another 2m\n  exp  2025-01-15 10:00:00  expired 3m ago\n",
		"Scopes:\n  read:orders\n  write:orders\n",
		"Signature: present, not verified, not shown",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, sig) {
		t.Errorf("the signature was printed:\n%s", r.out)
	}

	// The argument forms: the token itself, and - for stdin.
	for _, args := range [][]string{{"decode", tok}, {"decode", "-"}} {
		r = f.run(t, tok, args...)
		wantCode(t, r, 0)
		if !strings.Contains(r.out, "\"sub\": \"trader1\"") {
			t.Errorf("%v: stdout lacks the claims:\n%s", args[1:2], r.out)
		}
	}
	wantCode(t, f.run(t, "", "decode", tok, tok), exitUsage, "unexpected argument")

	r = f.run(t, tok, "decode", "--json")
	wantCode(t, r, 0)
	var out struct {
		Header   map[string]any
		Claims   map[string]any
		Times    map[string]struct{ UTC, Relative string }
		Scopes   []string
		Signed   bool
		Verified bool
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	if out.Claims["sub"] != "trader1" || out.Header["kid"] != "k1" || out.Times["exp"].Relative != "expired 3m ago" ||
		out.Times["exp"].UTC != "2025-01-15T10:00:00Z" || len(out.Scopes) != 2 || !out.Signed || out.Verified {
		t.Errorf("--json: %+v", out)
	}
	if strings.Contains(r.out, sig) {
		t.Errorf("the signature was printed:\n%s", r.out)
	}
}

func TestDecodeExchangeToken(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	tok := f.must(t, "", "token").out
	r := f.run(t, tok, "decode")
	wantCode(t, r, 0)
	for _, want := range []string{`"sub": "trader1"`, `"aud": [`, "  exp  ", "expires in ", "Scopes:\n  (none)\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
}

func TestDecodeTerminal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok, _ := testJWT(`{"sub":"x"}`)
	r, prompts := f.runTTY(t, []string{tok}, "decode")
	wantCode(t, r, 0)
	if len(prompts) != 1 || prompts[0] != "Token: " || !strings.Contains(r.out, `"sub": "x"`) {
		t.Errorf("prompts %q, stdout:\n%s", prompts, r.out)
	}
	if !strings.Contains(r.out, "(no iat, nbf or exp)") {
		t.Errorf("stdout:\n%s", r.out)
	}
}

func TestDecodeBadTokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok, _ := testJWT(`{"sub":"trader1"}`)
	parts := strings.Split(tok, ".")
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "\n", "no token given"},
		{"not a JWT", "hello", "not a JWT: a JWT has 3 dot-separated parts (header.claims.signature), this has 1"},
		{"cut short", parts[0] + "." + parts[1][:7], "this has 2; is it cut short?"},
		{"claims truncated", parts[0] + "." + parts[1][:len(parts[1])-4] + "." + parts[2], "part 2 of 3 (the claims) is not a JSON object"},
		{"garbage header", "@@." + parts[1] + "." + parts[2], "part 1 of 3 (the header) is not base64url"},
		{"too long", strings.Repeat("a", maxLine+10), "over 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := f.run(t, tc.in, "decode")
			wantCode(t, r, exitUsage, tc.want, "pmx-login decode --help")
			if len(tc.in) > 20 && strings.Contains(r.err, tc.in[:20]) {
				t.Errorf("the error quotes the input: %s", r.err)
			}
		})
	}
}
