package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// TestReloginTriesNextWindowAfterUsedCode: a person logged in with the
// current window's code in another process; the bot's unattended relogin
// offers the same window's code, which the exchange refuses as used. The
// bot tries the next window (its generator waits on the exchange's fake
// clock) instead of ending the session.
func TestReloginTriesNextWindowAfterUsedCode(t *testing.T) {
	t.Parallel()
	var codes mfa.CodeSource
	b := setupMFABot(t, func(*mfa.Generator) func(context.Context, string) (session.Credentials, error) {
		return func(ctx context.Context, u string) (session.Credentials, error) {
			return session.PasswordRelogin(session.StaticPassword(testPassword), codes)(ctx, u)
		}
	})
	gen, err := mfa.LoadGenerator(t.Context(), b.store, b.m.Status().Environment, testUser, mfa.WithClock(b.srv.Now),
		mfa.WithSleep(func(_ context.Context, d time.Duration) error { b.srv.Advance(d); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	codes = gen
	code, err := b.srv.OTP(testUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Login(t.Context(), traderapi.LoginRequest{Username: testUser, Password: testPassword, OTP: traderapi.Secret(code)}); err != nil {
		t.Fatalf("the person's login: %v", err)
	}
	if err := b.endSession(t); err != nil {
		t.Fatalf("Refresh with a relogin whose first code was used: %v (%s)", err, session.Classify(err))
	}
	tok, err := b.m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := b.srv.Authenticate(tok.Reveal()); err != nil || u != testUser {
		t.Fatalf("the relogin's token is not accepted: %q, %v", u, err)
	}
}
