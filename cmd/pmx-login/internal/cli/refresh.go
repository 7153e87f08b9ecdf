package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
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
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Resume(ctx); err != nil {
		return err
	}
	start := o.io.Now()
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	st := m.Status()
	if err := o.checkSaved(ctx, m, st.Username, start); err != nil {
		return err
	}
	if o.g.json {
		return writeJSON(o.io.Out, statusJSON(o.app, st.Username, st.LoggedIn, st.AccessExpiry, st.RefreshExpiry, mfaState(st.MFA, false)))
	}
	fmt.Fprintf(o.io.Out, "✓ Refreshed: new access token valid until %s\n", when(o.io.Now(), st.AccessExpiry))
	return nil
}

// checkSaved reads the store back after a refresh: the record must hold the
// new access token (or, a keychain having dropped the token for size, be
// saved after the refresh began). A refresh the keystore did not keep is an
// error: the next run would start from the old, possibly rotated, refresh
// token.
func (o *refreshOptions) checkSaved(ctx context.Context, m *session.Manager, user string, start time.Time) error {
	st, err := o.store()
	if err != nil {
		return err
	}
	tok, err := m.Token(ctx)
	if err != nil {
		return err
	}
	rec, err := st.Get(ctx, keystore.Key{Environment: m.Environment(), Username: user})
	if err != nil {
		return fmt.Errorf("refresh: the new token could not be read back from the keystore: %w: %w", errNotSaved, err)
	}
	if rec.AccessToken.Reveal() == tok.Reveal() || (rec.AccessToken.IsZero() && !rec.SavedAt.Before(start.Truncate(time.Second))) {
		return nil
	}
	return fmt.Errorf("refresh: the exchange issued a new token, but %w: it still holds the old one", errNotSaved)
}
