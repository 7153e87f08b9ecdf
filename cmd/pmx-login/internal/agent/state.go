package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
)

// ErrNoToken: the agent holds a session but no valid access token (it
// expired and the refresh has not succeeded yet).
var ErrNoToken = errors.New("no valid access token")

// watcher is a store that tells of changes (the Redis store): the manager
// follows it itself.
type watcher interface {
	Watch(ctx context.Context, k keystore.Key) (<-chan struct{}, error)
}

// Ready reports whether the agent holds a valid access token: nil, or an
// error saying why not (matching [session.ErrNotLoggedIn] while no session
// is stored or after a logout, [session.ErrSessionExpired] once the session
// ended, [ErrNoToken] while a refresh is due). It reads no store and sends
// nothing: a readiness probe can call it at any rate.
func (a *Agent) Ready() error {
	if e := a.ended.Load(); e != nil {
		return e.err
	}
	st := a.current().Manager.Status()
	switch {
	case st.LoggedIn:
		return nil
	case st.Ended != nil:
		return st.Ended
	case st.Username == "":
		return a.waitingErr()
	case st.Retrying != nil:
		return fmt.Errorf("%w: the token expired and refreshing it fails: %w", ErrNoToken, st.Retrying)
	}
	return ErrNoToken
}

// waitingErr is the error of an agent that holds no session yet.
func (a *Agent) waitingErr() error {
	if w := a.waiting.Load(); w != nil {
		return fmt.Errorf("waiting for a session (run `pmx-login login`): %w", *w)
	}
	return fmt.Errorf("waiting for a session (run `pmx-login login`): %w", session.ErrNotLoggedIn)
}

// Token returns the current access token and its expiry. While the token
// is fresh it does not wait; while a refresh is due it waits for it (until
// ctx ends). With no session it fails at once.
func (a *Agent) Token(ctx context.Context) (session.TokenInfo, error) {
	if e := a.ended.Load(); e != nil {
		return session.TokenInfo{}, e.err
	}
	ti, err := a.current().Manager.TokenInfo(ctx)
	if err != nil && errors.Is(err, session.ErrNotLoggedIn) && a.current().Manager.Status().Username == "" {
		return ti, a.waitingErr()
	}
	return ti, err
}

// Status is the session's state as the agent holds it.
func (a *Agent) Status() session.Status { return a.current().Manager.Status() }

// watch looks at the store every Poll until ctx ends.
func (a *Agent) watch(ctx context.Context) {
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.look(ctx, a.current())
		}
	}
}

// look takes up a stored session when the agent holds none (or the one it
// holds ended), and on a store that cannot be watched, a newer record (a
// newer login, a logout, an ended session) of the user it serves.
func (a *Agent) look(ctx context.Context, b *Backend) {
	st := b.Manager.Status()
	if st.Username == "" || st.Ended != nil || a.ended.Load() != nil {
		a.resume(ctx, b)
		return
	}
	if _, ok := b.Store.(watcher); ok {
		return
	}
	k := keystore.Key{Environment: st.Environment, Username: st.Username, Item: keystore.ItemSession}
	rec, err := b.Store.Get(ctx, k)
	if err == nil && rec.Generation > st.Generation {
		a.resume(ctx, b)
	}
}

// resume loads the stored session into b's manager, without a network
// call. A stored logout or ended session newer than what the manager holds
// is kept in a.ended, so that the agent stops serving the manager's token.
func (a *Agent) resume(ctx context.Context, b *Backend) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := b.Manager.Resume(rctx)
	if err == nil {
		a.ended.Store(nil)
		if a.waiting.Swap(nil) != nil {
			st := b.Manager.Status()
			a.cfg.Logger.Info("took up the stored session", "env", st.Environment, "user", st.Username, "generation", st.Generation)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	kind := session.Classify(err)
	final := kind == session.KindNotLoggedIn || kind == session.KindSessionEnded
	if st := b.Manager.Status(); final && st.Username != "" && st.Ended == nil && a.ended.Load() == nil {
		a.ended.Store(&endedState{gen: st.Generation, err: err})
		a.cfg.Logger.Warn("the stored session ended: serving no token until a new login", "env", st.Environment, "user", st.Username, "error", err)
	}
	if old := a.waiting.Swap(&err); old == nil || (*old).Error() != err.Error() {
		a.cfg.Logger.Info("no session to serve yet; waiting for a login", "reason", err)
	}
}
