package keystore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("UTC+2", 2*3600)
	for _, r := range []*Record{
		testRecord("preprod", "alice"),
		{Environment: "prod", Username: "bob"},
		{Environment: "prod", Username: "carol", Generation: 1795978930397522189, AccessLifetime: 6 * time.Second,
			LastOTPStep: 59932631, LoggedOut: true, MFA: true},
		{Environment: "dev01", Username: "名前 with spaces & <html>", OTPAuthURL: testOTPURL,
			SavedAt: time.Date(2029, 5, 6, 7, 8, 9, 123456789, zone)},
	} {
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%s)): %v", r, err)
		}
		sameRecord(t, got, r)
	}
	b, _ := Encode(testRecord("preprod", "alice"))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["v"] != 1.0 || m["rt"] != testRefresh {
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
		{strings.Repeat(" ", maxRecord+1), "over the limit"},
	} {
		r, err := Decode([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%.40q) = %v, %v; want ErrCorrupt containing %q", tc.in, r, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Decode(%.40q): error quotes the input: %v", tc.in, err)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil): no error")
	}
	if _, err := Encode(&Record{Username: "a"}); err == nil {
		t.Error("Encode without environment: no error")
	}
	if _, err := Encode(&Record{Environment: "p", Username: "a", RefreshToken: traderapiSecret(strings.Repeat("x", maxRecord))}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode of a huge record: %v, want ErrTooLarge", err)
	}
}

// FuzzDecode checks that Decode never panics, that what it accepts encodes
// back to an equal record, and that its errors never quote a token.
func FuzzDecode(f *testing.F) {
	for _, r := range []*Record{testRecord("preprod", "alice"), {Environment: "p", Username: "u", OTPAuthURL: testOTPURL}} {
		b, _ := Encode(r)
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", `{"v":1}`, `{"v":1,"env":"p","user":"u","rx":"2030-01-01T00:00:00Z"}`,
		`{"v":1,"env":"p","user":"u","rt":"tok-ABCDEFGH"} x`, `[{"v":1}]`, `{"v":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			var w struct {
				RT string `json:"rt"`
			}
			if json.Unmarshal(b, &w) == nil && len(w.RT) >= 8 && strings.Contains(err.Error(), w.RT) {
				t.Fatalf("error quotes the refresh token: %v", err)
			}
			return
		}
		b2, err := Encode(r)
		if err != nil {
			t.Fatalf("Encode of a decoded record: %v", err)
		}
		r2, err := Decode(b2)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))): %v", err)
		}
		sameRecord(t, r2, r)
	})
}
