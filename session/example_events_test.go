package session_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A bot counts what its manager does with an event hook: each call to the
// token endpoint is a refresh_started and then a refresh_succeeded or
// refresh_failed; the end of the session is a session_ended with its
// reason. The hook is called from one goroutine, outside every lock; Close
// delivers the events still queued.
func ExampleObserverFunc() {
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	_ = srv.AddUser("trader1", "correct-horse-42-battery")
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		log.Fatal(err)
	}
	hook := session.ObserverFunc(func(e session.Event) {
		switch e.Type {
		case session.EventRefreshFailed:
			fmt.Println(e.Type, e.Kind, e.Status) // alert on a spike of these
		case session.EventSessionEnded:
			fmt.Println(e.Type, e.Reason) // a person must log in again
		case session.EventRefreshStarted, session.EventRefreshSucceeded:
			fmt.Println(e.Type, e.Reason)
		}
	})
	m, err := session.New(session.Config{Client: client, Events: hook})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Login(ctx, "trader1", "correct-horse-42-battery", ""); err != nil {
		log.Fatal(err)
	}
	srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 403, HTML: true, Times: 1}) // a WAF's page
	_ = m.Refresh(ctx)
	_ = m.Refresh(ctx)
	_ = m.Logout(ctx)
	m.Close()
	// Output:
	// refresh_started forced
	// refresh_failed unavailable 403
	// refresh_started forced
	// refresh_succeeded forced
	// session_ended logged_out
}
