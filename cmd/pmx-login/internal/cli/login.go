package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

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
		args:    "[--otp CODE] [--password-stdin]",
		summary: "Log in and keep the session in the keystore",
		long: `Asks for the password (no echo), or reads it from stdin with --password-stdin.
When the exchange wants a one-time code, it comes from --otp, else from the command in
PMX_OTP_COMMAND, else from a TOTP secret stored by 'mfa enroll --store-secret', else
it is asked for on the terminal.`,
		example: `pmx-login login --username trader1
pmx-login login --username trader1 --otp 123456
printf '%s\n' "$PASSWORD" | PMX_OTP_COMMAND='op item get pmx --otp' pmx-login login --password-stdin`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &loginOptions{app: a}
			fs.StringVar(&o.otp, "otp", "", "the one-time `CODE` from your authenticator app")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runLogin(ctx, o) }
		},
	}
}

func runLogin(ctx context.Context, o *loginOptions) error {
	user, err := o.user(ctx)
	if err != nil {
		return err
	}
	var code traderapi.Secret
	if o.otp != "" {
		if code, err = validOTP(o.otp, 0); err != nil {
			return err
		}
	}
	pw, err := (&secretInput{a: o.app, fromStdin: o.passwordStdin}).read("Password for "+user+": ", "password")
	if err != nil {
		return err
	}
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	err = m.Login(ctx, user, pw, "")
	if errors.Is(err, traderapi.ErrOTPRequired) && code == "" {
		err = o.loginWithCode(ctx, m, user, pw)
	} else if errors.Is(err, traderapi.ErrOTPRequired) {
		err = m.Login(ctx, user, pw, code)
	}
	if err != nil {
		return fmt.Errorf("login as %s in %s: %w", user, m.Environment(), err)
	}
	st := m.Status()
	if o.g.json {
		return writeJSON(o.io.Out, statusJSON(o.app, st.Username, true, st.AccessExpiry, st.RefreshExpiry, mfaState(st.MFA, false)))
	}
	now := o.io.Now()
	fmt.Fprintf(o.io.Out, "✓ Logged in to %s as %s (keystore: %s).\n", m.Environment(), user, o.backendName())
	fmt.Fprintf(o.io.Out, "  access token valid until %s, refreshed as needed until %s\n",
		when(now, st.AccessExpiry), when(now, st.RefreshExpiry))
	return nil
}

// loginWithCode logs in with a code from the first source that has one. A
// code from the stored secret that the exchange turns down (already used in
// this window by an earlier command) is retried once with the next window's.
func (o *loginOptions) loginWithCode(ctx context.Context, m *session.Manager, user string, pw traderapi.Secret) error {
	src, fromSecret, err := o.codeSource(ctx, user)
	if err != nil {
		return err
	}
	code, err := src.Code(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoOTP, err)
	}
	err = m.Login(ctx, user, pw, code)
	if fromSecret && errors.Is(err, traderapi.ErrOTPRequired) {
		fmt.Fprintln(o.io.Err, "The code was refused (used already in this time window); waiting for the next one…")
		if code, err = src.Code(ctx); err != nil {
			return fmt.Errorf("%w: %w", errNoOTP, err)
		}
		err = m.Login(ctx, user, pw, code)
	}
	return err
}
