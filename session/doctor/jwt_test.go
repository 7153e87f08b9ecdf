package doctor

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeJWT(t *testing.T) {
	t.Parallel()
	tok := jwtOf(`{"alg":"RS256","typ":"JWT","kid":"k1"}`,
		`{"sub":"alice","aud":["a","b"],"iat":1736935200,"exp":1736938800.5,"scope":"read:orders write:orders","big":12345678901234567890}`)
	for _, in := range []string{tok, "  " + tok + "\n", "Bearer " + tok, "bearer " + tok} {
		d, err := DecodeJWT(in)
		if err != nil {
			t.Fatalf("DecodeJWT(%q): %v", in, err)
		}
		if d.Header["kid"] != "k1" || d.Str("sub") != "alice" || !d.Signed {
			t.Errorf("header %v, claims %v", d.Header, d.Claims)
		}
		if got := d.Audience(); len(got) != 2 || got[1] != "b" {
			t.Errorf("Audience() = %v", got)
		}
		if got := d.Scopes(); len(got) != 2 || got[0] != "read:orders" {
			t.Errorf("Scopes() = %v", got)
		}
		if iat, ok := d.Time("iat"); !ok || !iat.Equal(time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("iat = %v, %v", iat, ok)
		}
		if exp, ok := d.Time("exp"); !ok || exp.Sub(time.Date(2025, 1, 15, 11, 0, 0, 0, time.UTC)) != 500*time.Millisecond {
			t.Errorf("exp = %v, %v", exp, ok)
		}
		if _, ok := d.Time("sub"); ok {
			t.Error("Time of a string claim")
		}
		if d.Claims["big"].(interface{ String() string }).String() != "12345678901234567890" {
			t.Errorf("big number changed: %v", d.Claims["big"])
		}
	}
}

func TestDecodeJWTErrors(t *testing.T) {
	t.Parallel()
	good := jwtOf(`{"alg":"HS256"}`, `{"sub":"a-secret-subject"}`)
	parts := strings.Split(good, ".")
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "  ", "the token is empty"},
		{"one part", parts[0], "this has 1; is it cut short?"},
		{"cut after claims", parts[0] + "." + parts[1], "this has 2; is it cut short?"},
		{"four parts", good + ".x", "this has 4"},
		{"claims cut short", parts[0] + "." + parts[1][:len(parts[1])-5] + "." + parts[2], "part 2 of 3 (the claims) is not a JSON object"},
		{"bad base64 header", "e!J." + parts[1] + "." + parts[2], "part 1 of 3 (the header) is not base64url (bad character or length at byte 1)"},
		{"empty header", "." + parts[1] + "." + parts[2], "part 1 of 3 (the header) is empty"},
		{"JSON array", jwtOf(`[1]`, `{}`), "part 1 of 3 (the header) is not a JSON object"},
		{"bad signature", parts[0] + "." + parts[1] + ".a+b", "part 3 of 3 (the signature) is not base64url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeJWT(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeJWT: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), parts[1][:10]) {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
}

func FuzzDecodeJWT(f *testing.F) {
	f.Add(jwtOf(`{"alg":"HS256"}`, `{"exp":1e400,"iat":"x","aud":[1,"a"]}`))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := DecodeJWT(s)
		if err != nil {
			return
		}
		for _, k := range []string{"exp", "iat", "nbf"} {
			d.Time(k)
		}
		_, _ = d.Audience(), d.Scopes()
	})
}
