package session_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// mfaBot is a manager for an MFA account whose TOTP secret was saved with
// mfa.SaveSecret and whose Relogin is PasswordRelogin(password, codes).
type mfaBot struct {
	*fixture
	gen    *mfa.Generator
	log    *helperproc.Buffer
	secret string
}

// setupMFABot turns MFA on for testUser, saves its secret in the fixture's
// store, loads a generator on the exchange's clock and logs in with its
// first code. relogin builds the Config.Relogin from that generator.
func setupMFABot(t *testing.T, relogin func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error)) *mfaBot {
	t.Helper()
	b := &mfaBot{log: &helperproc.Buffer{}}
	var re func(context.Context, string) (session.Credentials, error)
	b.fixture = setup(t, traderapitest.Options{}, session.Config{
		Logger:  slog.New(slog.NewTextHandler(b.log, nil)),
		Relogin: func(ctx context.Context, u string) (session.Credentials, error) { return re(ctx, u) },
	})
	u, err := b.srv.EnableMFA(testUser) // the enrollment URL, as SaveSecret takes it
	if err != nil {
		t.Fatal(err)
	}
	b.secret = totpSecret(t, u)
	env := b.m.Status().Environment
	if err := mfa.SaveSecret(t.Context(), b.store, env, testUser, u); err != nil {
		t.Fatalf("SaveSecret: %v", err)
	}
	if b.gen, err = mfa.LoadGenerator(t.Context(), b.store, env, testUser, mfa.WithClock(b.srv.Now)); err != nil {
		t.Fatalf("LoadGenerator: %v", err)
	}
	re = relogin(b.gen)
	code, err := b.gen.Code(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Login(t.Context(), testUser, testPassword, code); err != nil {
		t.Fatalf("Login with the generator's code: %v", err)
	}
	// The next code is of the next window: move the exchange (and the
	// generator, which reads its clock) there rather than wait.
	b.srv.Advance(30 * time.Second)
	return b
}

// endSession revokes the refresh token and forces a refresh, which finds
// the session over and calls Relogin.
func (b *mfaBot) endSession(t *testing.T) error {
	t.Helper()
	b.srv.RevokeRefreshTokens(testUser)
	return b.m.Refresh(t.Context())
}

// TestPasswordReloginMFA: with the stored TOTP secret and the password, a
// session whose refresh token was revoked is logged in again unattended,
// with a fresh code, and the new token works.
func TestPasswordReloginMFA(t *testing.T) {
	t.Parallel()
	b := setupMFABot(t, func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error) {
		return session.PasswordRelogin(session.StaticPassword(testPassword), gen)
	})
	if err := b.endSession(t); err != nil {
		t.Fatalf("Refresh with re-login: %v (%s)", err, session.Classify(err))
	}
	tok, err := b.m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := b.srv.Authenticate(tok.Reveal()); err != nil || u != testUser {
		t.Fatalf("the re-login's token is not accepted: %q, %v", u, err)
	}
	if n := b.srv.Calls(traderapi.PathLogin); n != 2 {
		t.Errorf("login calls = %d, want 2 (the first and the re-login)", n)
	}
	if !b.m.Status().MFA {
		t.Error("Status().MFA = false after an OTP re-login")
	}
	assertNoSecrets(t, b, b.log.String())
}

// TestPasswordReloginFailures: credentials the exchange rejects (a wrong
// password, no code on an MFA account) end the session with an
// error matching ErrSessionExpired that says why; a password source that fails keeps
// the session (only the exchange's rejection ends it) and reports the
// failure as retrying. Neither error holds a secret.
func TestPasswordReloginFailures(t *testing.T) {
	t.Parallel()
	vault := errors.New("vault sealed")
	type reloginFunc = func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error)
	tests := []struct {
		name    string
		relogin reloginFunc
		want    error
		ended   bool
		cause   string // what the ended session's error says the exchange answered
	}{
		{"wrong password", func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error) {
			return session.PasswordRelogin(session.StaticPassword("wrong-horse-42-battery"), gen)
		}, traderapi.ErrUnauthorized, true, "invalid username or password"},
		{"no code source", func(*mfa.Generator) func(context.Context, string) (session.Credentials, error) {
			return session.PasswordRelogin(session.StaticPassword(testPassword), nil)
		}, traderapi.ErrOTPRequired, true, "otp required"},
		{"password source fails", func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error) {
			return session.PasswordRelogin(func(context.Context, string) (traderapi.Secret, error) { return "", vault }, gen)
		}, vault, false, ""},
		{"empty password", func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error) {
			return session.PasswordRelogin(session.StaticPassword(""), gen)
		}, nil, false, ""},
		{"nil password source", func(gen *mfa.Generator) func(context.Context, string) (session.Credentials, error) {
			return session.PasswordRelogin(nil, gen)
		}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupMFABot(t, tt.relogin)
			err := b.endSession(t)
			if tt.ended {
				wantEnded(t, b, err, tt.want, tt.cause)
			} else {
				wantKept(t, b, err, tt.want)
			}
			assertNoSecrets(t, b, err.Error()+b.log.String())
		})
	}
}

// wantEnded: the session ended, the error saying cause, and the error
// matches ErrSessionExpired only, not the cause want (one error, one
// state).
func wantEnded(t *testing.T, b *mfaBot, err, want error, cause string) {
	t.Helper()
	if !errors.Is(err, session.ErrSessionExpired) || !strings.Contains(err.Error(), cause) || errors.Is(err, want) || session.Classify(err) != session.KindSessionEnded {
		t.Fatalf("Refresh = %v (%s), want ErrSessionExpired saying %q, not matching %v", err, session.Classify(err), cause, want)
	}
	if _, err := b.m.Token(t.Context()); session.Classify(err) != session.KindSessionEnded {
		t.Errorf("Token after a rejected re-login = %v", err)
	}
}

// wantKept: the refresh failed with the source's error, the session is
// not ended and its token is still served.
func wantKept(t *testing.T, b *mfaBot, err, want error) {
	t.Helper()
	if err == nil || errors.Is(err, session.ErrSessionExpired) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("Refresh = %v, want a failure wrapping %v that does not end the session", err, want)
	}
	if st := b.m.Status(); st.Ended != nil || st.Retrying == nil {
		t.Fatalf("Status after a failing password source: ended %v, retrying %v", st.Ended, st.Retrying)
	}
	if _, err := b.m.Token(t.Context()); err != nil {
		t.Errorf("Token after a failing password source = %v, want the old token", err)
	}
}

// assertNoSecrets fails if out holds the password, the TOTP secret or the
// code of the current window.
func assertNoSecrets(t *testing.T, b *mfaBot, out string) {
	t.Helper()
	code, err := b.gen.At(b.srv.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"password": testPassword.Reveal(), "TOTP secret": b.secret, "code": code.Reveal()} {
		if strings.Contains(out, s) {
			t.Errorf("the output holds the %s", name)
		}
	}
}
