package keyring_test

import (
	"errors"
	"fmt"

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
