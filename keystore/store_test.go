package keystore

import (
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{"": BackendKeyring, "keyring": BackendKeyring, " Memory ": BackendMemory} {
		s, err := Open(name)
		if err != nil || s.Backend() != want {
			t.Errorf("Open(%q) = %v, %v; want the %s backend", name, s, err, want)
		}
	}
	_, err := Open("vault")
	if err == nil || !strings.Contains(err.Error(), `"vault"`) || !strings.Contains(err.Error(), "keyring, file, memory") {
		t.Fatalf("Open(vault): %v, want an error naming it and listing the choices", err)
	}
}

func TestKeyString(t *testing.T) {
	t.Parallel()
	if got := (Key{Environment: "prod", Username: "a"}).String(); got != "prod/a/session" {
		t.Fatalf("Key.String() = %q", got)
	}
	for r, want := range map[Reason]string{NoService: "no service", Locked: "locked", Timeout: "timeout", Other: "other"} {
		if r.String() != want {
			t.Errorf("Reason %d = %q, want %q", r, r, want)
		}
	}
}

func TestSame(t *testing.T) {
	t.Parallel()
	a := generation("preprod", "alice", 1)
	b := *a
	b.SavedAt, b.MFA = b.SavedAt.Add(1), true // not part of the version
	totp := &Record{OTPAuthURL: testOTPURL}
	for _, tc := range []struct {
		x, y *Record
		want bool
	}{
		{nil, nil, true},
		{a, nil, false},
		{a, &b, true},
		{a, generation("preprod", "alice", 2), false},
		{totp, &Record{OTPAuthURL: testOTPURL}, true},
		{totp, &Record{OTPAuthURL: "otpauth://totp/PMX:alice?secret=OTHER"}, false}, // re-enrolled
	} {
		if got := Same(tc.x, tc.y); got != tc.want {
			t.Errorf("Same(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}
