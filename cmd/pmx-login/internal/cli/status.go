package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
)

type statusOptions struct {
	*app
	agentFirst
}

func statusCommand() command {
	return command{
		name:    "status",
		summary: "Show the stored session: environment, user, expiries, MFA, keystore",
		long: `Reads the stored session without calling the exchange or refreshing anything.
Exits 3 when there is no session (or it has expired), so scripts can test it.`,
		example: `pmx-login status
pmx-login status --json | jq -r .access_expires_at`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &statusOptions{app: a}
			o.agentFirst.bind(fs)
			return func(ctx context.Context) error { return runStatus(ctx, o) }
		},
	}
}

func runStatus(ctx context.Context, o *statusOptions) error {
	var sj agent.StatusJSON
	if sock, ok := o.askAgent(ctx, o.agentFirst, agent.PathStatus, &sj); ok && sj.Ready {
		return o.printAgentStatus(sock, sj)
	}
	env, err := o.environment()
	if err != nil {
		return err
	}
	st, err := o.store()
	if err != nil {
		return err
	}
	user, err := o.currentUser(ctx)
	if err != nil && !errors.Is(err, errNoUser) {
		return err
	}
	var rec *keystore.Record
	if user != "" {
		rec, err = st.Get(ctx, keystore.Key{Environment: env.Name, Username: user, Item: keystore.ItemSession})
		if err != nil && !isNotFound(err) {
			return err
		}
		rec = o.refuseRollback(env.Name, user, rec)
	}
	offset, measured := o.clockOffset(env.Name)
	if rec != nil && measured {
		r := *rec
		r.AccessExpiry, r.RefreshExpiry = toLocal(r.AccessExpiry, offset), toLocal(r.RefreshExpiry, offset)
		rec = &r
	}
	now := o.io.Now()
	if rec == nil {
		rec = &keystore.Record{}
	}
	loggedIn := !rec.RefreshToken.IsZero() && (rec.RefreshExpiry.IsZero() || now.Before(rec.RefreshExpiry))
	secret := false
	if user != "" {
		_, terr := st.Get(ctx, keystore.Key{Environment: env.Name, Username: user, Item: keystore.ItemTOTP})
		secret = terr == nil
	}
	access := rec.AccessExpiry
	if rec.AccessToken.IsZero() {
		access = time.Time{}
	}
	mfa := mfaState(rec.MFA, secret)
	rs, err := o.redisStatus(ctx, env.Name, user)
	if err != nil {
		return err
	}
	if o.g.json {
		out := statusJSON(o.app, user, loggedIn, access, rec.RefreshExpiry, mfa)
		out["clock_offset_s"] = nil
		if measured {
			out["clock_offset_s"] = offset.Seconds()
		}
		if rs != nil {
			out["redis"] = redisStatusJSON(rs)
		}
		if err := writeJSON(o.io.Out, out); err != nil {
			return err
		}
	} else {
		o.printStatus(env.Name, user, loggedIn, access, rec.RefreshExpiry, mfa)
		printClock(o.io.Out, offset, measured)
		o.printRedisStatus(rs)
	}
	if !loggedIn {
		if rec.Ended() && !rec.LoggedOut && !rec.SavedAt.IsZero() {
			return fmt.Errorf("the session of %s in %s ended %s (the exchange rejected its refresh token): %w", user, env.Name, relative(now, rec.SavedAt), session.ErrSessionExpired)
		}
		if !rec.RefreshExpiry.IsZero() {
			return fmt.Errorf("the session of %s in %s expired %s: %w", user, env.Name, relative(now, rec.RefreshExpiry), session.ErrSessionExpired)
		}
		return fmt.Errorf("%w to %s", session.ErrNotLoggedIn, env.Name)
	}
	return nil
}

func (o *statusOptions) printStatus(env, user string, loggedIn bool, access, refresh time.Time, mfa string) {
	now := o.io.Now()
	w := o.io.Out
	fmt.Fprintf(w, "environment: %s\n", env)
	fmt.Fprintf(w, "user:        %s\n", or(user, "(none)"))
	fmt.Fprintf(w, "logged in:   %s\n", map[bool]string{true: "yes", false: "no"}[loggedIn])
	if loggedIn {
		if access.IsZero() {
			fmt.Fprintf(w, "access:      no cached token (the next `pmx-login token` refreshes it)\n")
		} else {
			fmt.Fprintf(w, "access:      valid until %s\n", when(now, access))
		}
		fmt.Fprintf(w, "refresh:     valid until %s\n", when(now, refresh))
	}
	fmt.Fprintf(w, "mfa:         %s\n", mfa)
	fmt.Fprintf(w, "keystore:    %s\n", o.backendName())
}

// mfaState describes what is known of MFA: the exchange does not say, so
// it is "on" after a login that needed a code, "secret-stored" when a TOTP
// secret is kept for `mfa code`, else "unknown".
func mfaState(usedOTP, secretStored bool) string {
	switch {
	case usedOTP && secretStored, secretStored:
		return "secret-stored"
	case usedOTP:
		return "on"
	}
	return "unknown"
}

// statusJSON is the --json object of status, login and refresh.
func statusJSON(a *app, user string, loggedIn bool, access, refresh time.Time, mfa string) map[string]any {
	now := a.io.Now()
	out := map[string]any{
		"environment": a.g.env, "username": user, "logged_in": loggedIn, "mfa": mfa, "keystore": a.g.keystore,
		"access_expires_at": nil, "access_expires_in": nil, "refresh_expires_at": nil,
	}
	if !access.IsZero() {
		out["access_expires_at"] = access.UTC().Format(time.RFC3339)
		out["access_expires_in"] = int(access.Sub(now) / time.Second)
	}
	if !refresh.IsZero() {
		out["refresh_expires_at"] = refresh.UTC().Format(time.RFC3339)
	}
	return out
}

// refuseRollback drops a stored session older than one this machine has
// seen (written back from an old copy), saying so on stderr.
func (o *statusOptions) refuseRollback(env, user string, rec *keystore.Record) *keystore.Record {
	g := o.generations()
	if rec == nil || g == nil {
		return rec
	}
	if seen := g.Seen(env, user); rec.Generation < seen {
		fmt.Fprintf(o.io.Err, "warning: the stored session of %q in %s is generation %d, older than generation %d this machine has seen: %v; refused\n",
			user, env, rec.Generation, seen, session.ErrRolledBack)
		return nil
	}
	return rec
}

// clockOffset is the exchange's clock minus this machine's, as a process
// of this machine last measured it, and whether one did.
func (a *app) clockOffset(env string) (time.Duration, bool) {
	if g := a.generations(); g != nil {
		return g.ClockOffset(env)
	}
	return 0, false
}

// toLocal converts a stored time (the exchange's clock) to this machine's,
// as the session manager does: offsets under 2 s are measuring noise.
func toLocal(t time.Time, offset time.Duration) time.Time {
	if t.IsZero() || offset.Abs() < 2*time.Second {
		return t
	}
	return t.Add(-offset)
}

// printClock prints the measured clock offset when it is one that matters.
func printClock(w io.Writer, offset time.Duration, measured bool) {
	if !measured || offset.Abs() < 2*time.Second {
		return
	}
	way := "ahead of"
	if offset < 0 {
		way = "behind"
	}
	fmt.Fprintf(w, "clock:       the exchange's is %s %s this machine's (stored times converted)\n", offset.Abs().Round(time.Second), way)
}

// printAgentStatus prints the status a running agent gave: the session it
// holds, with a valid token.
func (o *statusOptions) printAgentStatus(sock string, sj agent.StatusJSON) error {
	access, refresh := agentTime(sj.AccessExpiresAt), agentTime(sj.RefreshExpiresAt)
	mfa := mfaState(sj.MFA, false)
	if o.g.json {
		out := statusJSON(o.app, sj.Username, true, access, refresh, mfa)
		out["keystore"], out["agent"] = sj.Keystore, sock
		return writeJSON(o.io.Out, out)
	}
	o.st = nil
	o.g.keystore = sj.Keystore
	o.printStatus(sj.Environment, sj.Username, true, access, refresh, mfa)
	_, err := fmt.Fprintf(o.io.Out, "agent:       %s (ready)\n", sock)
	return err
}
