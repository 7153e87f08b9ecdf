package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

type refreshOptions struct{ *app }

func refreshCommand() command {
	return command{
		name:    "refresh",
		summary: "Get a new access token now with the stored refresh token",
		example: `pmx-login refresh
pmx-login refresh --username trader1 --json`,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &refreshOptions{app: a}
			return func(ctx context.Context) error { return runRefresh(ctx, o) }
		},
	}
}

func runRefresh(ctx context.Context, o *refreshOptions) error {
	m, err := o.resumed(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh: %w", err) // a new token the keystore did not take matches session.ErrNotStored
	}
	st := m.Status()
	if o.g.json {
		return writeJSON(o.io.Out, statusJSON(o.app, st.Username, st.LoggedIn, st.AccessExpiry, st.RefreshExpiry, mfaState(st.MFA, false)))
	}
	fmt.Fprintf(o.io.Out, "✓ Refreshed: new access token valid until %s\n", when(o.io.Now(), st.AccessExpiry))
	return nil
}
