package session_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"

	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// A bot in a fleet shares one trader session through Redis: a human logs
// in once (`pmx-login login --keystore redis`), every bot resumes the
// stored session, and while Start runs the fleet refreshes once per token
// lifetime (the lock holder calls the exchange, the others take up its
// token within milliseconds). A logout anywhere ends every bot's session.
func Example_fleet() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	store, err := redis.Open(os.Getenv("PMX_REDIS_URL"), os.Getenv("PMX_REDIS_KEY_FILE"))
	if err != nil {
		fmt.Println(err) // names the key file or the URL, never the Redis password
		return
	}
	defer store.Close()
	env, err := traderapi.LookupEnvironment(traderapi.Preprod)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := traderapi.NewClient(env)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := session.New(session.Config{Client: client, Store: store})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	if err := m.Resume(ctx); err != nil { // no network call; a Redis that is down is an error here
		fmt.Println(err)
		return
	}
	if err := m.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	hc := &http.Client{Transport: m.Transport(nil)}
	req, err := client.NewRequest(ctx, http.MethodPost, traderapi.PathInsertOrder, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := hc.Do(req) // errors.Is(err, session.ErrNotLoggedIn): logged out fleet-wide
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = resp.Body.Close()
}
