package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/traderapi"
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
		long: `Asks for the current password, then the new one: it is checked against the
exchange's policy (check_password) as soon as it is typed, asked for again with the
exchange's reason if refused, then repeated. With --password-stdin the current
password is the first line of stdin and the new one the second; a refused one ends the
command (exit 4). The stored session is kept: the exchange's documents do not say that
changing the password revokes sessions, and this client does not end it; log out and
in again if you changed it because the old one leaked.`,
		example: `pmx-login change-password --username trader1
printf '%s\n%s\n' "$OLD" "$NEW" | pmx-login change-password --password-stdin`,
		ownTimeout: true,
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
		if user, err = o.username(ctx); err != nil {
			return err
		}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	in := &secretInput{a: o.app, fromStdin: o.passwordStdin}
	oldPw, err := in.read(ctx, "Current password for "+user+": ", "current password")
	if err != nil {
		return err
	}
	newPw, err := in.readNew(ctx, "New password: ", "new password", func(ctx context.Context, p traderapi.Secret) error {
		ctx, cancel := o.timed(ctx)
		defer cancel()
		if _, err := c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: p}); err != nil {
			return fmt.Errorf("the new password was refused: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ctx, cancel := o.timed(ctx)
	defer cancel()
	req := traderapi.ChangePasswordRequest{Username: user, OldPassword: oldPw, NewPassword: newPw}
	if _, err := c.ChangePassword(ctx, req); err != nil {
		return fmt.Errorf("change password of %s: %w", user, err)
	}
	env := c.Environment().Name
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"changed": true, "environment": env, "username": user})
	}
	fmt.Fprintf(o.io.Out, "✓ Password of %s in %s changed. Use the new one at your next login; the stored session is kept.\n", user, env)
	return nil
}
