package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/traderapi"
)

type checkPasswordOptions struct {
	*app
	passwordStdin bool
}

func checkPasswordCommand() command {
	return command{
		name:    "check-password",
		args:    "[--password-stdin]",
		summary: "Ask the exchange whether a password meets its policy",
		example: `pmx-login check-password
printf '%s\n' "$CANDIDATE" | pmx-login check-password --password-stdin`,
		ownTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &checkPasswordOptions{app: a}
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runCheckPassword(ctx, o) }
		},
	}
}

func runCheckPassword(ctx context.Context, o *checkPasswordOptions) error {
	in := &secretInput{a: o.app, fromStdin: o.passwordStdin}
	pw, err := in.read(ctx, "Password to check: ", "password")
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, cancel := o.timed(ctx)
	defer cancel()
	res, err := c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: pw})
	if err != nil {
		return fmt.Errorf("the password does not pass: %w", err)
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"acceptable": true, "notes": res.Reasons})
	}
	fmt.Fprintln(o.io.Out, "✓ The password meets the exchange's policy.")
	for _, r := range res.Reasons {
		fmt.Fprintf(o.io.Out, "  note: %s\n", r)
	}
	return nil
}
