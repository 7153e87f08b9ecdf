package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
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
	user, start := m.Status().Username, o.io.Now()
	before := o.stored(ctx, m.Environment(), user)
	if err := m.Logout(ctx); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if user == "" {
		user = m.Status().Username
	}
	if err := o.checkRemoved(ctx, m.Environment(), user, start, before); err != nil {
		return err
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"logged_out": true, "environment": m.Environment(), "username": user})
	}
	fmt.Fprintf(o.io.Out, "✓ Logged out %s from %s: tokens revoked, session removed from the keystore.\n", user, m.Environment())
	return nil
}

// stored is the session record of user before logout (nil: none or
// unreadable; user "": the last user's).
func (o *logoutOptions) stored(ctx context.Context, env, user string) *keystore.Record {
	st, err := o.store()
	if err == nil && user == "" {
		user, err = st.LastUser(ctx, env)
	}
	if err != nil {
		return nil
	}
	rec, _ := st.Get(ctx, keystore.Key{Environment: env, Username: user})
	return rec
}

// checkRemoved reads the store back: a session still stored after Logout
// (the keystore refused the delete) is an error, not "session removed". A
// session with another refresh token saved since start is another
// process's new login, rightly kept.
func (o *logoutOptions) checkRemoved(ctx context.Context, env, user string, start time.Time, before *keystore.Record) error {
	st, err := o.store()
	if err != nil || user == "" {
		return err
	}
	rec, err := st.Get(ctx, keystore.Key{Environment: env, Username: user})
	switch {
	case isNotFound(err):
		return nil
	case err == nil && rec.SavedAt.After(start) && (before == nil || rec.RefreshToken != before.RefreshToken):
		fmt.Fprintf(o.io.Err, "note: a session of %s saved by another process meanwhile is kept\n", user)
		return nil
	case err != nil:
		return fmt.Errorf("logout: the tokens were revoked, but whether the keystore removed the session is unknown: %w: %w", errNotSaved, err)
	}
	return fmt.Errorf("logout: the tokens were revoked, but %w: the session is still stored", errNotSaved)
}
