package keyring_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
)

// A keychain that cannot be used is not "logged out": tell the two apart.
func ExampleLocked() {
	err := error(&keystore.UnavailableError{Backend: "keyring", Reason: keyring.Locked})
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		fmt.Println("not logged in")
	case errors.Is(err, keystore.ErrUnavailable):
		fmt.Println(err)
	}
	// Output:
	// keychain unavailable: the keychain is locked and was not unlocked
}

// TestReasonString pins the reasons' values: keystore.Reason names them.
func TestReasonString(t *testing.T) {
	t.Parallel()
	for r, want := range map[keystore.Reason]string{keyring.NoService: "no service", keyring.Locked: "locked", keyring.Timeout: "timeout", keyring.Other: "other"} {
		if r.String() != want {
			t.Errorf("Reason %d = %q, want %q", r, r, want)
		}
	}
}
