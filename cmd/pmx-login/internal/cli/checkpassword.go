package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
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
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	res, err := m.CheckPassword(ctx, pw)
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
