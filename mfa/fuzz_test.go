package mfa

import (
	"strings"
	"testing"
)

// FuzzParseURL checks that ParseURL never panics, that its errors never
// contain the secret, and that what it accepts round-trips through
// StoredURL and yields codes.
func FuzzParseURL(f *testing.F) {
	f.Add(testURL)
	f.Add("otpauth://totp/x:y?secret=jbsw%20y3dp&digits=8&algorithm=sha512&period=60")
	f.Add("otpauth://hotp/x?secret=" + testSecret)
	f.Add("otpauth://totp/%zz?secret=" + testSecret)
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := ParseURL(raw)
		if err != nil {
			if strings.Contains(raw, testSecret) {
				assertNoSecret(t, err.Error(), testSecret)
			}
			return
		}
		back, err := ParseURL(e.StoredURL().Reveal())
		if err != nil {
			t.Fatalf("ParseURL(StoredURL()) of %q: %v", raw, err)
		}
		back.URL, e.URL = "", ""
		if *back != *e {
			t.Fatalf("round trip of %q: %v, want %v", raw, back, e)
		}
		g, err := NewGenerator(e)
		if err != nil {
			t.Fatalf("NewGenerator for %q: %v", raw, err)
		}
		if _, err := g.At(testTime); err != nil {
			t.Fatalf("At for %q: %v", raw, err)
		}
	})
}
