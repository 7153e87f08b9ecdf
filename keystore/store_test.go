package keystore_test

import (
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

func TestKeyString(t *testing.T) {
	t.Parallel()
	if got := (keystore.Key{Environment: "prod", Username: "a"}).String(); got != "prod/a/session" {
		t.Fatalf("Key.String() = %q", got)
	}
}

func TestSame(t *testing.T) {
	t.Parallel()
	a := storehelp.Generation("preprod", "alice", 1)
	b := *a
	b.SavedAt, b.MFA = b.SavedAt.Add(1), true // not part of the version
	totp := &keystore.Record{OTPAuthURL: storehelp.OTPURL}
	for _, tc := range []struct {
		x, y *keystore.Record
		want bool
	}{
		{nil, nil, true},
		{a, nil, false},
		{a, &b, true},
		{a, storehelp.Generation("preprod", "alice", 2), false},
		{totp, &keystore.Record{OTPAuthURL: storehelp.OTPURL}, true},
		{totp, &keystore.Record{OTPAuthURL: "otpauth://totp/PMX:alice?secret=OTHER"}, false}, // re-enrolled
	} {
		if got := keystore.Same(tc.x, tc.y); got != tc.want {
			t.Errorf("keystore.Same(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}
