package keystore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/traderapi"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("UTC+2", 2*3600)
	for _, r := range []*keystore.Record{
		storehelp.Record("preprod", "alice"),
		{Environment: "prod", Username: "bob"},
		{Environment: "prod", Username: "carol", Generation: 1795978930397522189, AccessLifetime: 6 * time.Second,
			LastOTPStep: 59932631, LoggedOut: true, MFA: true},
		{Environment: "dev01", Username: "名前 with spaces & <html>", OTPAuthURL: storehelp.OTPURL,
			SavedAt: time.Date(2029, 5, 6, 7, 8, 9, 123456789, zone)},
	} {
		b, err := keystore.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := keystore.Decode(b)
		if err != nil {
			t.Fatalf("keystore.Decode(keystore.Encode(%s)): %v", r, err)
		}
		storehelp.SameRecord(t, got, r)
	}
	b, _ := keystore.Encode(storehelp.Record("preprod", "alice"))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["v"] != 1.0 || m["rt"] != storehelp.Refresh {
		t.Fatalf("wire form %s: want a JSON object with v=1 and the token", b)
	}
	if strings.ContainsAny(string(b), "\n ") {
		t.Fatalf("wire form is not compact: %s", b)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "empty or truncated"},
		{"   ", "empty or truncated"},
		{`{"v":1,"env":"preprod","user":"a"`, "truncated"},
		{"not json", "not valid JSON"},
		{"[1,2]", "not a JSON object"},
		{"null", "no version"},
		{`"rt-secret-value"`, "not a JSON object"},
		{`{"env":"preprod","user":"a"}`, "no version"},
		{`{"v":2,"env":"preprod","user":"a"}`, "newer pmx-login"},
		{`{"v":-1,"env":"preprod","user":"a"}`, "not valid"},
		{`{"v":"1","env":"preprod","user":"a"}`, `field "v"`},
		{`{"v":1,"user":"a"}`, "no environment"},
		{`{"v":1,"env":"a/b","user":"a"}`, "environment"},
		{`{"v":1,"env":"preprod"}`, "no username"},
		{`{"v":1,"env":"preprod","user":"a","rt":5}`, `field "rt"`},
		{`{"v":1,"env":"preprod","user":"a","rx":"tomorrow-secret"}`, `field "rx"`},
		{`{"v":1,"env":"preprod","user":"a"} {"v":1}`, "data after"},
		{`{"v":1,"env":"preprod","user":"a"}}`, "data after"},
		{strings.Repeat(" ", 64<<10+1), "over the limit"},
		{`{"v":1,"env":"preprod","user":"a","al":-1}`, `"al"`},
		{`{"v":1,"env":"preprod","user":"a","al":9223372036854775807}`, `"al"`}, // ms past what a Duration holds
	} {
		r, err := keystore.Decode([]byte(tc.in))
		if err == nil || !errors.Is(err, keystore.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("keystore.Decode(%.40q) = %v, %v; want keystore.ErrCorrupt containing %q", tc.in, r, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("keystore.Decode(%.40q): error quotes the input: %v", tc.in, err)
		}
	}
	if _, err := keystore.Encode(nil); err == nil {
		t.Error("keystore.Encode(nil): no error")
	}
	if _, err := keystore.Encode(&keystore.Record{Username: "a"}); err == nil {
		t.Error("keystore.Encode without environment: no error")
	}
	if _, err := keystore.Encode(&keystore.Record{Environment: "p", Username: "a", RefreshToken: traderapi.Secret(strings.Repeat("x", (64 << 10)))}); !errors.Is(err, keystore.ErrTooLarge) {
		t.Errorf("keystore.Encode of a huge record: %v, want keystore.ErrTooLarge", err)
	}
}

// FuzzDecode checks that keystore.Decode never panics, that what it accepts encodes
// back to an equal record, and that its errors never quote a token.
func FuzzDecode(f *testing.F) {
	for _, r := range []*keystore.Record{storehelp.Record("preprod", "alice"), {Environment: "p", Username: "u", OTPAuthURL: storehelp.OTPURL}} {
		b, _ := keystore.Encode(r)
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", `{"v":1}`, `{"v":1,"env":"p","user":"u","rx":"2030-01-01T00:00:00Z"}`,
		`{"v":1,"env":"p","user":"u","rt":"tok-ABCDEFGH"} x`, `[{"v":1}]`, `{"v":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := keystore.Decode(b)
		if err != nil {
			if !errors.Is(err, keystore.ErrCorrupt) {
				t.Fatalf("error %v does not match keystore.ErrCorrupt", err)
			}
			var w struct {
				RT string `json:"rt"`
			}
			if json.Unmarshal(b, &w) == nil && len(w.RT) >= 8 && strings.Contains(err.Error(), w.RT) {
				t.Fatalf("error quotes the refresh token: %v", err)
			}
			return
		}
		b2, err := keystore.Encode(r)
		if err != nil {
			t.Fatalf("keystore.Encode of a decoded record: %v", err)
		}
		r2, err := keystore.Decode(b2)
		if err != nil {
			t.Fatalf("keystore.Decode(keystore.Encode(keystore.Decode(b))): %v", err)
		}
		storehelp.SameRecord(t, r2, r)
	})
}
