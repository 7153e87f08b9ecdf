package session_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A trading bot starts with no password: it resumes the session that
// `pmx-login login` stored, and sends its orders through the manager's
// transport, which adds the raw access token and refreshes it as needed.
func Example_bot() {
	// For the example, a local exchange and a session stored beforehand;
	// a real bot uses traderapi.LookupEnvironment("prod") and
	// keyring.New().
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	_ = srv.AddUser("trader1", "correct-horse-42-battery")
	store := keystore.NewMemory()
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		log.Fatal(err)
	}
	cli, _ := session.New(session.Config{Client: client, Store: store})
	if err := cli.Login(context.Background(), "trader1", "correct-horse-42-battery", ""); err != nil {
		log.Fatal(err)
	}

	// The bot.
	ctx := context.Background()
	m, err := session.New(session.Config{Client: client, Store: store})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Resume(ctx); err != nil {
		log.Fatal(err) // errors.Is(err, session.ErrNotLoggedIn): run `pmx-login login`
	}
	m.Start(ctx) // refresh in the background: requests never wait
	hc := &http.Client{Transport: m.Transport(nil)}

	req, _ := client.NewRequest(ctx, http.MethodPost, traderapi.PathInsertOrder,
		strings.NewReader(`{"symbol":"aec-nfl-buf-nyj-2025-01-15","side":"SIDE_BUY","order_qty":"10","price":"0.55"}`))
	resp, err := hc.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(m.Status().Username, resp.Status)
	// Output: trader1 200 OK
}
