package isv_test

import (
	"context"
	"fmt"
	"os"

	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/isv"
)

// A fleet of partner bots on many machines shares one access token through
// Redis: each bot opens the same Redis and key file and sets Config.Store.
// Only the process whose token goes stale first requests a new one; the
// others adopt it from Redis, where it is stored encrypted.
func ExampleConfig_store() {
	store, err := redis.Open("redis://redis.internal:6379/0", "/etc/pmx/redis.key")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer store.Close()
	key, err := isv.LoadPrivateKeyFile("/etc/pmx/client-key.pem")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	src, err := isv.New(isv.Config{Environment: "preprod", ClientID: "my-client-id", Key: key, Store: store})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer src.Close()
	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = tok // use src.Transport for API calls
}
