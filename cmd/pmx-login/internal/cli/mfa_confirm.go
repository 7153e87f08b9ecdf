package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
)

type mfaConfirmOptions struct {
	*app
	otp           string
	passwordStdin bool
}

func mfaConfirmCommand() command {
	return command{
		name:       "mfa confirm",
		args:       "[--otp - | --otp CODE] [--password-stdin]",
		ownTimeout: true,
		summary:    "Finish enrollment with the code your authenticator shows; MFA is on from then",
		long: `Without --otp the code comes from the secret stored by 'mfa enroll --store-secret',
or is asked for on the terminal. --otp - reads it from stdin (after the password's
line with --password-stdin).`,
		example: `pmx-login mfa confirm            # asks for the password and the code
printf '%s\n%s\n' "$PASSWORD" "$CODE" | pmx-login mfa confirm --password-stdin --otp -`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &mfaConfirmOptions{app: a}
			fs.StringVar(&o.otp, "otp", "", "the `CODE` your authenticator app shows, or - to read it from stdin")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runMFAConfirm(ctx, o) }
		},
	}
}

func runMFAConfirm(ctx context.Context, o *mfaConfirmOptions) error {
	var code traderapi.Secret
	var err error
	if o.otp != "" && o.otp != "-" {
		if code, err = o.flagOTP(ctx, o.otp); err != nil {
			return err
		}
	}
	user, pw, c, err := o.userPasswordClient(ctx, o.passwordStdin)
	if err != nil {
		return err
	}
	if o.otp == "-" {
		if code, err = o.flagOTP(ctx, "-"); err != nil {
			return err
		}
	}
	src, generated, err := o.confirmSource(ctx, user, code)
	if err != nil {
		return err
	}
	err = o.sendWithCode(ctx, user, src, generated, func(ctx context.Context, code traderapi.Secret) error {
		ctx, cancel := o.timed(ctx)
		defer cancel()
		return mfa.Confirm(ctx, c, user, pw, code)
	})
	if err != nil {
		return fmt.Errorf("mfa confirm for %s: %w", user, err)
	}
	o.noteMFAOn(ctx, c.Environment().Name, user)
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"mfa": "on", "environment": c.Environment().Name, "username": user})
	}
	fmt.Fprintf(o.io.Out, "✓ MFA is on for %s in %s: from now on, login needs a one-time code.\n", user, c.Environment().Name)
	return nil
}

// confirmSource is where the confirmation code comes from: --otp, else the
// secret stored at enrollment, else the terminal.
func (o *mfaConfirmOptions) confirmSource(ctx context.Context, user string, flagCode traderapi.Secret) (mfa.CodeSource, bool, error) {
	if flagCode != "" {
		return fixedSource{flagCode}, false, nil
	}
	g, err := o.storedGenerator(ctx, user)
	switch {
	case err == nil:
		return g, true, nil
	case !isNotFound(err):
		return nil, false, err
	case o.io.InTTY:
		return promptSource{a: o.app}, false, nil
	}
	return nil, false, usageErrorf(o.cmd, "no code: give --otp - (the code your authenticator app shows, on stdin)")
}

// noteMFAOn marks a stored session of user as having MFA on, so that
// status says so right after the confirmation.
func (o *mfaConfirmOptions) noteMFAOn(ctx context.Context, env, user string) {
	st, err := o.store()
	if err != nil {
		return
	}
	k := keystore.Key{Environment: env, Username: user}
	rec, err := st.Get(ctx, k)
	if err != nil || rec.MFA {
		return
	}
	next := *rec
	next.MFA = true
	next.Generation = nextGeneration(rec)
	_ = st.CompareAndSwap(ctx, k, rec, &next) // a session refreshed meanwhile: status catches up at the next login
}
