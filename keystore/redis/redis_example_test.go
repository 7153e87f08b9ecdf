package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
)

// A bot in a fleet opens the shared store, takes the lease lock around a
// refresh, and writes the new session fenced by its generation; the other
// bots learn of it through Watch.
func ExampleOpen() {
	ctx := context.Background()
	store, err := redis.Open(os.Getenv("PMX_REDIS_URL"), os.Getenv("PMX_REDIS_KEY_FILE"),
		redis.WithSavedBy("bot-7/"+fmt.Sprint(os.Getpid())))
	if err != nil {
		fmt.Println(err) // never holds the Redis password
		return
	}
	defer store.Close()
	k := keystore.Key{Environment: "preprod", Username: "trader1"}

	unlock, err := store.Lock(ctx, k)
	if err != nil {
		return
	}
	old, err := store.Get(ctx, k)
	if err == nil {
		next := *old
		next.Generation++ // ... and the refreshed tokens
		err = store.CompareAndSwap(ctx, k, old, &next)
	}
	unlock()
	var conflict *keystore.ConflictError
	if errors.As(err, &conflict) && conflict.Current != nil {
		fmt.Println("another bot wrote generation", conflict.Current.Generation)
	}
}
