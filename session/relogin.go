package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
)

// PasswordRelogin returns a [Config.Relogin] for an unattended bot: when
// the session ends, the manager logs in again with the password that
// password returns for the user (from wherever the bot keeps it: a
// secrets manager, a file readable by the bot alone; see
// [StaticPassword]) and, if codes is not nil (the account has MFA on), a
// fresh code from codes (an [*mfa.Generator] for a TOTP secret loaded with
// [mfa.LoadGenerator], or an [*mfa.CommandSource]). It is called at most
// once per ended session, from the one refresh in flight, so codes is
// never asked twice at once by it.
//
// An error from password or codes (or an empty password, or a nil
// password) fails the re-login without ending the session: the manager
// tries again after its cooldown, and [Manager.Token] returns the error
// meanwhile. Only the exchange's refusal of the credentials ends the
// session (an error matching [ErrSessionExpired] that names it).
func PasswordRelogin(password func(ctx context.Context, username string) (traderapi.Secret, error), codes mfa.CodeSource) func(ctx context.Context, username string) (Credentials, error) {
	return func(ctx context.Context, username string) (Credentials, error) {
		if password == nil {
			return Credentials{}, errors.New("re-login: no password source")
		}
		pw, err := password(ctx, username)
		if err != nil {
			return Credentials{}, fmt.Errorf("re-login: reading the password of %q: %w", username, err)
		}
		if pw.IsZero() {
			return Credentials{}, fmt.Errorf("re-login: the password source gave an empty password for %q", username)
		}
		creds := Credentials{Username: username, Password: pw}
		if codes != nil {
			if creds.OTP, err = codes.Code(ctx); err != nil {
				return Credentials{}, fmt.Errorf("re-login: getting a one-time code for %q: %w", username, err)
			}
		}
		return creds, nil
	}
}

// StaticPassword is a password source for [PasswordRelogin] that always
// returns password, for a bot that read it once at start.
func StaticPassword(password traderapi.Secret) func(ctx context.Context, username string) (traderapi.Secret, error) {
	return func(context.Context, string) (traderapi.Secret, error) { return password, nil }
}
