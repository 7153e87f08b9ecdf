package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

type changePasswordOptions struct {
	*app
	passwordStdin bool
}

func changePasswordCommand() command {
	return command{
		name:    "change-password",
		args:    "[--password-stdin]",
		summary: "Change your password (the current one, then the new one)",
		long: `Asks for the current password, then the new one twice; with --password-stdin it
reads the current password from the first line of stdin and the new one from the
second. The stored session stays valid.`,
		example: `pmx-login change-password --username trader1
printf '%s\n%s\n' "$OLD" "$NEW" | pmx-login change-password --password-stdin`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &changePasswordOptions{app: a}
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the current and the new password from stdin, one per line")
			return func(ctx context.Context) error { return runChangePassword(ctx, o) }
		},
	}
}

func runChangePassword(ctx context.Context, o *changePasswordOptions) error {
	user, err := o.currentUser(ctx)
	if err != nil {
		if user, err = o.username(); err != nil {
			return err
		}
	}
	in := &secretInput{a: o.app, fromStdin: o.passwordStdin}
	oldPw, err := in.read("Current password for "+user+": ", "current password")
	if err != nil {
		return err
	}
	newPw, err := in.readNew("New password: ", "new password")
	if err != nil {
		return err
	}
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.ChangePassword(ctx, user, oldPw, newPw); err != nil {
		return fmt.Errorf("change password of %s: %w", user, err)
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"changed": true, "environment": m.Environment(), "username": user})
	}
	fmt.Fprintf(o.io.Out, "✓ Password of %s in %s changed. Use the new one at your next login.\n", user, m.Environment())
	return nil
}
