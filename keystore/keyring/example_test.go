package keyring_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
)

// A keychain that cannot be used is not "logged out": tell the two apart,
// and say what to do when the reason is known.
func Example_unavailable() {
	store := keyring.New()
	_, err := store.Get(context.Background(), keystore.Key{Environment: "prod", Username: "trader1"})
	switch {
	case err == nil:
		fmt.Println("logged in")
	case errors.Is(err, keystore.ErrNotFound):
		fmt.Println("not logged in: run `pmx-login login`")
	case errors.Is(err, keyring.ErrLocked), errors.Is(err, keyring.ErrTimeout):
		fmt.Println("unlock the keychain and try again:", err)
	case errors.Is(err, keystore.ErrUnavailable):
		fmt.Println("no keychain here: use the file keystore:", err)
	}
}
