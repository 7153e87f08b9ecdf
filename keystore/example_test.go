package keystore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// A bot keeps its session in memory only; a later run finds the user
// without being told.
func Example() {
	ctx := context.Background()
	store, err := keystore.Open("memory")
	if err != nil {
		panic(err)
	}
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	err = store.Set(ctx, key, &keystore.Record{
		RefreshToken:  "eyJhbGciOi...refresh",
		RefreshExpiry: time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}

	user, _ := store.LastUser(ctx, "preprod")
	rec, _ := store.Get(ctx, keystore.Key{Environment: "preprod", Username: user})
	fmt.Println(rec)

	_, err = store.Get(ctx, keystore.Key{Environment: "prod", Username: user})
	fmt.Println(errors.Is(err, keystore.ErrNotFound))
	// Output:
	// keystore.Record{Environment: "preprod", Username: "alice", RefreshToken: [REDACTED] (expires 2030-01-08T00:00:00Z)}
	// true
}

// A keychain that cannot be used is not "logged out": tell the two apart.
func ExampleUnavailableError() {
	err := error(&keystore.UnavailableError{Backend: "keyring", Reason: keystore.Locked})
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		fmt.Println("not logged in")
	case errors.Is(err, keystore.ErrUnavailable):
		fmt.Println(err)
	}
	// Output:
	// keychain unavailable: the keychain is locked and was not unlocked
}
