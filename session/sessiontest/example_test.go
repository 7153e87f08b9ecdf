package sessiontest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/sessiontest"
)

// placeOrder is a bot's own code: it depends on session.TokenSource, so
// that a test gives it a fake and production a *session.Manager.
func placeOrder(ctx context.Context, tokens session.TokenSource) string {
	tok, err := tokens.Token(ctx)
	switch {
	case errors.Is(err, session.ErrSessionExpired):
		return "stop trading: log in again"
	case err != nil:
		return "skip this order: " + session.Classify(err).String()
	}
	return "order sent with a " + fmt.Sprint(len(tok.Reveal())) + "-byte token"
}

func Example() {
	src := sessiontest.NewSource("eyJhbGciOi.fake.token")
	ctx := context.Background()
	fmt.Println(placeOrder(ctx, src))
	src.Fail(fmt.Errorf("refresh token revoked: %w", session.ErrSessionExpired))
	fmt.Println(placeOrder(ctx, src))
	fmt.Println(src.Calls(), "calls")
	// Output:
	// order sent with a 21-byte token
	// stop trading: log in again
	// 2 calls
}
