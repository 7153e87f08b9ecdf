package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

type logoutOptions struct{ *app }

func logoutCommand() command {
	return command{
		name:    "logout",
		summary: "Revoke the session on the exchange and remove it from the keystore",
		long: `If the exchange cannot be reached, the local session is still removed, and the
command says that the tokens were not revoked (exit 5). If the keystore could not
remove the session, the command says so and exits 1.`,
		example: `pmx-login logout
pmx-login logout --username trader1 --env prod`,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &logoutOptions{app: a}
			return func(ctx context.Context) error { return runLogout(ctx, o) }
		},
	}
}

func runLogout(ctx context.Context, o *logoutOptions) error {
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	// A session the keystore did not remove matches session.ErrNotStored;
	// another process's newer login is rightly kept.
	if err := m.Logout(ctx); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	user := m.Status().Username
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"logged_out": true, "environment": m.Status().Environment, "username": user})
	}
	fmt.Fprintf(o.io.Out, "✓ Logged out %s from %s: tokens revoked, session removed from the keystore.\n", user, m.Status().Environment)
	return nil
}
