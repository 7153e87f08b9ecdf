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
	store := keystore.NewMemory()
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	err := store.Set(ctx, key, &keystore.Record{
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
