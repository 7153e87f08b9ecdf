package doctor_test

import (
	"context"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/doctor"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A bot's health endpoint runs the doctor over its own session and serves
// the report as JSON; here it prints each check's name and status.
func Example() {
	ctx := context.Background()
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	_ = srv.AddUser("trader-1", "s3cure-Passw0rd!")
	client, _ := srv.Client()
	store := keystore.NewMemory()
	m, _ := session.New(session.Config{Client: client, Store: store})
	defer m.Close()
	if err := m.Login(ctx, "trader-1", "s3cure-Passw0rd!", ""); err != nil {
		fmt.Println(err)
		return
	}

	env := client.Environment()
	rep := doctor.Run(ctx, doctor.Config{
		Env:        env,
		HTTPClient: srv.HTTPClient(),
		Store:      store,
		Refresh:    doctor.TrialRefresh(client, store, env.Name, ""),
	})
	for _, c := range rep.Checks {
		fmt.Printf("%-8s %s\n", c.Status, c.Name)
	}
	fmt.Println("healthy:", rep.OK())
	// Output:
	// ok       reachability
	// ok       clock skew
	// ok       stored session
	// ok       access token
	// ok       trial refresh
	// skipped  isv
	// healthy: true
}
