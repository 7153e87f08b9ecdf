package session_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A cache-aware caller (an exec-credential style helper, say) takes the
// token together with its expiry, read from one state: no refresh can come
// between the two.
func ExampleManager_TokenInfo() {
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: time.Hour})
	defer srv.Close()
	if err := srv.AddUser("trader1", "correct-horse-42-battery"); err != nil {
		log.Fatal(err)
	}
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.Login(ctx, "trader1", "correct-horse-42-battery", ""); err != nil {
		log.Fatal(err)
	}
	info, err := m.TokenInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token:", info.Token) // redacted: info.Token.Reveal() is the value
	fmt.Println("valid for about", time.Until(info.Expiry).Round(time.Minute))
	// Output:
	// token: [REDACTED]
	// valid for about 1h0m0s
}
