package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

type loginOptions struct {
	*app
	otp           string
	passwordStdin bool
}

func loginCommand() command {
	return command{
		name:    "login",
		args:    "[--otp - | --otp CODE] [--password-stdin]",
		summary: "Log in and keep the session in the keystore",
		long: `Asks for the password (no echo), or reads it from stdin with --password-stdin.
When the exchange wants a one-time code, it comes from --otp (- reads one line of
stdin, after the password's line with --password-stdin), else from the command in
PMX_OTP_COMMAND, else from a TOTP secret stored by 'mfa enroll --store-secret', else
it is asked for on the terminal. Each code works once: a code of a window already
used (by any pmx-login run) is refused before it is sent, saying when the next comes.
The keystore is checked before anything is asked or sent.`,
		example: `pmx-login login --username trader1
printf '%s\n%s\n' "$PASSWORD" "$CODE" | pmx-login login --password-stdin --otp -
printf '%s\n' "$PASSWORD" | PMX_OTP_COMMAND='op item get pmx --otp' pmx-login login --password-stdin`,
		ownTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &loginOptions{app: a}
			fs.StringVar(&o.otp, "otp", "", "the one-time `CODE`, or - to read it from stdin (keeps it out of the process list)")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runLogin(ctx, o) }
		},
	}
}

func runLogin(ctx context.Context, o *loginOptions) error {
	var code traderapi.Secret
	var err error
	if o.otp != "" && o.otp != "-" {
		if code, err = o.flagOTP(ctx, o.otp); err != nil {
			return err
		}
	}
	user, err := o.user(ctx)
	if err != nil {
		return err
	}
	if err := o.checkStore(ctx, user); err != nil {
		return err
	}
	pw, err := (&secretInput{a: o.app, fromStdin: o.passwordStdin}).read(ctx, "Password for "+user+": ", "password")
	if err != nil {
		return err
	}
	if o.otp == "-" {
		if code, err = o.flagOTP(ctx, "-"); err != nil {
			return err
		}
	}
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := o.login(ctx, m, user, pw, code); err != nil {
		return fmt.Errorf("login as %s in %s: %w", user, m.Status().Environment, err)
	}
	return o.printLoggedIn(m, user)
}

func (o *loginOptions) printLoggedIn(m *session.Manager, user string) error {
	st := m.Status()
	if o.g.json {
		return writeJSON(o.io.Out, statusJSON(o.app, st.Username, true, st.AccessExpiry, st.RefreshExpiry, mfaState(st.MFA, false)))
	}
	now := o.io.Now()
	fmt.Fprintf(o.io.Out, "✓ Logged in to %s as %s (keystore: %s).\n", m.Status().Environment, user, o.backendName())
	fmt.Fprintf(o.io.Out, "  access token valid until %s, refreshed as needed until %s\n",
		when(now, st.AccessExpiry), when(now, st.RefreshExpiry))
	return nil
}

// login sends one login request with the code when one is at hand (--otp,
// or the stored secret), else one without, and a second with a code only
// if the exchange asks for it. A session the keystore cannot save is
// revoked at once: nothing is left behind that nobody holds.
func (o *loginOptions) login(ctx context.Context, m *session.Manager, user string, pw, flagCode traderapi.Secret) error {
	send := func(ctx context.Context, code traderapi.Secret) error { return o.timedLogin(ctx, m, user, pw, code) }
	src, generated, err := o.upfrontSource(ctx, user, flagCode)
	if err != nil {
		return err
	}
	if src != nil {
		err = o.sendWithCode(ctx, user, src, generated, send)
	} else {
		err = send(ctx, "")
		if errors.Is(err, traderapi.ErrOTPRequired) {
			if src, generated, err = o.codeSource(ctx, user); err == nil {
				err = o.sendWithCode(ctx, user, src, generated, send)
			}
		}
	}
	if errors.Is(err, session.ErrNotStored) {
		return o.revoke(ctx, m, err)
	}
	return err
}

// upfrontSource is the code source to use before the exchange asks: the
// --otp code, or the stored secret (MFA is on for who stored one).
func (o *loginOptions) upfrontSource(ctx context.Context, user string, flagCode traderapi.Secret) (src mfa.CodeSource, generated bool, err error) {
	if flagCode != "" {
		return fixedSource{flagCode}, false, nil
	}
	if o.io.Getenv(envOTPCommand) != "" {
		return nil, false, nil // run the command only when a code is asked for
	}
	g, err := o.storedGenerator(ctx, user)
	switch {
	case err == nil:
		return g, true, nil
	case isNotFound(err):
		return nil, false, nil
	}
	return nil, false, err
}

// timedLogin is one login call under --timeout.
func (o *loginOptions) timedLogin(ctx context.Context, m *session.Manager, user string, pw, code traderapi.Secret) error {
	ctx, cancel := o.timed(ctx)
	defer cancel()
	return m.Login(ctx, user, pw, code)
}

// revoke logs out a session that was issued but could not be stored.
func (o *loginOptions) revoke(ctx context.Context, m *session.Manager, saveErr error) error {
	ctx, cancel := o.timed(ctx)
	defer cancel()
	if err := m.Logout(ctx); err != nil && !errors.Is(err, session.ErrNotStored) {
		return fmt.Errorf("%w; revoking the session it issued failed too: %w", saveErr, err)
	}
	return fmt.Errorf("the exchange logged you in, but %w (the session was revoked, not left behind)", saveErr)
}
