package mfa

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/pquerna/otp"
)

// testSecret is a distinctive base32 secret (the bytes "Hello!\xde\xad\xbe\xef"
// twice) that a leak check can look for.
const testSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

const testURL = "otpauth://totp/Polymarket%20Exchange:alice?secret=" + testSecret +
	"&issuer=Polymarket%20Exchange&algorithm=SHA1&digits=6&period=30"

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want Enrollment // URL is checked separately
	}{
		{"full", testURL, Enrollment{Issuer: "Polymarket Exchange", Account: "alice", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA1, Secret: testSecret}},
		{"defaults", "otpauth://totp/alice?secret=" + testSecret,
			Enrollment{Account: "alice", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA1, Secret: testSecret}},
		{"issuer from label only", "otpauth://totp/ACME:bob?secret=" + testSecret,
			Enrollment{Issuer: "ACME", Account: "bob", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA1, Secret: testSecret}},
		{"issuer parameter wins, space after colon", "otpauth://totp/Old:%20bob?issuer=New&secret=" + testSecret,
			Enrollment{Issuer: "New", Account: "bob", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA1, Secret: testSecret}},
		{"lower case, padded, spaced secret", "otpauth://totp/x:y?secret=jbsw%20y3dp%20ehpk%203pxp%3D%3D%3D%3D",
			Enrollment{Issuer: "x", Account: "y", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA1, Secret: "JBSWY3DPEHPK3PXP"}},
		{"sha256, 8 digits, 60 s", "otpauth://totp/x:a%40b.example?secret=" + testSecret + "&algorithm=sha256&digits=8&period=60",
			Enrollment{Issuer: "x", Account: "a@b.example", Period: 60, Digits: 8, Algorithm: otp.AlgorithmSHA256, Secret: testSecret}},
		{"sha512, upper-case scheme and type", "  OTPAUTH://TOTP/x:y?secret=" + testSecret + "&algorithm=SHA512\n",
			Enrollment{Issuer: "x", Account: "y", Period: 30, Digits: 6, Algorithm: otp.AlgorithmSHA512, Secret: testSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if got.URL.Reveal() != strings.TrimSpace(tt.url) {
				t.Errorf("URL = %q, want the trimmed input", got.URL.Reveal())
			}
			got.URL = ""
			if *got != tt.want {
				t.Errorf("ParseURL = %#v (secret %q), want %#v (secret %q)", got, got.Secret.Reveal(), tt.want, tt.want.Secret.Reveal())
			}
		})
	}
}

func TestParseURLRejects(t *testing.T) {
	t.Parallel()
	s := "secret=" + testSecret
	tests := []struct{ name, url, wantErr string }{
		{"empty", "  ", "is empty"},
		{"https", "https://example.com/totp?" + s, `not an otpauth:// URL (its scheme is "https")`},
		{"no scheme", testSecret, "not an otpauth:// URL"},
		{"hotp", "otpauth://hotp/x:y?counter=1&" + s, "HOTP (counter-based)"},
		{"unknown type", "otpauth://motp/x:y?" + s, `type is "motp"`},
		{"bad escape", "otpauth://totp/x%zz?" + s, `does not parse: invalid URL escape "%zz"`},
		{"control character", "otpauth://totp/x\x7f?" + s, "does not parse"},
		{"no secret", "otpauth://totp/x:y?issuer=x", "has no secret= parameter"},
		{"empty secret", "otpauth://totp/x:y?secret=", "has no secret= parameter"},
		{"not base32", "otpauth://totp/x:y?secret=" + testSecret[:8] + "18", "not valid base32"},
		{"bad base32 length", "otpauth://totp/x:y?secret=" + testSecret + "A", "not valid base32"},
		{"7 digits", "otpauth://totp/x:y?digits=7&" + s, `asks for "7" digits; only 6 or 8`},
		{"digits not a number", "otpauth://totp/x:y?digits=six&" + s, `asks for "six" digits`},
		{"md5", "otpauth://totp/x:y?algorithm=MD5&" + s, `algorithm "MD5" is not supported`},
		{"unknown algorithm", "otpauth://totp/x:y?algorithm=SHA3-256&" + s, "want SHA1, SHA256 or SHA512"},
		{"period 0", "otpauth://totp/x:y?period=0&" + s, `period is "0"; want a whole number of seconds above 0`},
		{"negative period", "otpauth://totp/x:y?period=-30&" + s, `period is "-30"`},
		{"period not a number", "otpauth://totp/x:y?period=30s&" + s, `period is "30s"`},
		{"steam encoder", "otpauth://totp/x:y?encoder=steam&" + s, `"steam" encoder`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := ParseURL(tt.url)
			if err == nil {
				t.Fatalf("ParseURL = %v, want an error containing %q", e, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "mfa: ") {
				t.Errorf("error = %q, want the mfa: prefix", err)
			}
			assertNoSecret(t, err.Error(), testSecret)
		})
	}
}

// secretParam matches the secret parameter of an otpauth URL.
var secretParam = regexp.MustCompile(`(?i)secret=[a-z2-7]`)

// assertNoSecret fails if s contains secret or its first 8 characters, in
// any case.
func assertNoSecret(t *testing.T, s, secret string) {
	t.Helper()
	low := strings.ToLower(s)
	for _, needle := range []string{secret, secret[:8]} {
		if strings.Contains(low, strings.ToLower(needle)) {
			t.Errorf("%q contains the secret", s)
		}
	}
	if secretParam.MatchString(s) {
		t.Errorf("%q contains the otpauth URL's secret parameter", s)
	}
}

func TestEnrollmentPrintsAndLogsWithoutSecret(t *testing.T) {
	t.Parallel()
	e, err := ParseURL(testURL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3v"} {
		out = append(out, fmt.Sprintf(verb, e), fmt.Sprintf(verb, *e), fmt.Sprintf(verb, []Enrollment{*e}),
			fmt.Sprintf(verb, struct{ E *Enrollment }{e}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("enrolled", "enrollment", e)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("enrolled", "enrollment", *e)
	out = append(out, logs.String())
	for _, s := range out {
		assertNoSecret(t, s, testSecret)
	}
	if want := `Issuer: "Polymarket Exchange", Account: "alice", Period: 30s, Digits: 6, Algorithm: SHA1, Secret: [REDACTED]`; !strings.Contains(out[0], want) {
		t.Errorf("%%v = %q, want it to contain %q", out[0], want)
	}
	if !strings.Contains(logs.String(), `"account":"alice"`) || !strings.Contains(logs.String(), `"secret":"[REDACTED]"`) {
		t.Errorf("JSON log = %q, want the account and a redacted secret", logs.String())
	}
}

func TestStoredURLRoundTrips(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		testURL,
		"otpauth://totp/a%40b.example?secret=jbswy3dpehpk3pxp&digits=8&algorithm=sha512&period=45",
		"otpauth://totp/Ex%C3%A4mple%20Co:j%C3%BCrgen%20k?secret=" + testSecret,
		// A colon in the issuer or the account: the label splits at its
		// first colon, so the stored label must not add one.
		"otpAuth://totp?secret=22&issuer=:",
		"otpauth://totp/x:a:b?secret=" + testSecret,
		"otpauth://totp/:a:b?secret=" + testSecret,
		"otpauth://totp/a:b?secret=" + testSecret + "&issuer=Ex:co",
		"otpauth://totp/%20:a?secret=" + testSecret + "&issuer=%20",
	} {
		e, err := ParseURL(raw)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", raw, err)
		}
		stored := e.StoredURL()
		back, err := ParseURL(stored.Reveal())
		if err != nil {
			t.Fatalf("ParseURL(StoredURL()): %v", err)
		}
		if back.URL != stored {
			t.Errorf("URL = %q, want %q", back.URL.Reveal(), stored.Reveal())
		}
		back.URL, e.URL = "", ""
		if *back != *e {
			t.Errorf("round trip of %q = %v, want %v", raw, back, e)
		}
	}
}

func TestManualKeyAndValidateCode(t *testing.T) {
	t.Parallel()
	e := &Enrollment{Secret: "JBSWY3DPEHPK3PXPJB", Digits: otp.DigitsEight}
	if got, want := e.ManualKey(), "JBSW Y3DP EHPK 3PXP JB"; got != want {
		t.Errorf("ManualKey = %q, want %q", got, want)
	}
	if _, err := e.ValidateCode("123456"); err == nil || !strings.Contains(err.Error(), "your authenticator shows 8") {
		t.Errorf("ValidateCode(6 digits) for an 8-digit enrollment = %v, want a length error", err)
	}
	if c, err := e.ValidateCode("1234 5678"); err != nil || c.Reveal() != "12345678" {
		t.Errorf("ValidateCode(8 digits) = %q, %v", c.Reveal(), err)
	}
}
