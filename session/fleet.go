package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// watcher is implemented by stores that can tell when a record may have
// changed (the Redis store: a change notice from its write script, every
// resubscribe, and polling as a backstop). The channel is closed when ctx
// ends.
type watcher interface {
	Watch(ctx context.Context, k keystore.Key) (<-chan struct{}, error)
}

// follow keeps this process in step with the stored session while the
// background refresher runs: a newer record another process stored is
// adopted, a logout's tombstone ends the session, an ended one ends it
// with ErrSessionExpired, and a new login brings an ended session back. A
// store that can be watched (Redis) says when to look; any other (file,
// keychain) is read every [Config.Poll]. It follows the user the manager
// holds now, switching when a login changes it, and returns when ctx ends.
func (m *Manager) follow(ctx context.Context) {
	for ctx.Err() == nil {
		user := m.username()
		if user == "" {
			select {
			case <-ctx.Done():
				return
			case <-m.bg.switched:
			}
			continue
		}
		m.followUser(ctx, user)
	}
}

// followUser follows one user's record until ctx ends or the manager's
// user changes.
func (m *Manager) followUser(ctx context.Context, user string) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed, tick, stop, err := m.changes(wctx, user)
	if err != nil {
		m.cfg.Logger.Warn("cannot watch the stored session; retrying", "env", m.cfg.Environment, "error", err)
		sleep(ctx, 5*time.Second)
		return
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		case <-tick:
		case <-m.bg.switched:
		}
		if m.username() != user {
			return
		}
		m.sync(wctx, user)
	}
}

// changes returns what says when user's record may have changed: the
// store's watch if it has one, else a ticker of Config.Poll.
func (m *Manager) changes(ctx context.Context, user string) (<-chan struct{}, <-chan time.Time, func(), error) {
	if w, ok := m.raw.(watcher); ok {
		ch, err := w.Watch(ctx, m.key(user))
		return ch, nil, func() {}, err
	}
	t := time.NewTicker(m.cfg.Poll)
	return nil, t.C, func() { t.Stop() }, nil
}

// sync re-reads the stored record and adopts what it says, if it is newer
// than what this process holds. A record that is gone (a store that lost
// its data: Redis restarted empty) is stored again from this process's
// state while its token is valid; a logout leaves a tombstone instead.
func (m *Manager) sync(ctx context.Context, user string) {
	cur := m.cache.Current()
	if cur == nil || cur.Data.final {
		return
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(user))
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		if cur.Usable() && cur.Data.stored != nil {
			m.restore(ctx, cur)
		}
	case err != nil:
		m.cfg.Logger.Warn("could not re-read the stored session", "env", m.cfg.Environment, "error", err)
	case rec.Generation > cur.Data.gen && !(cur.Err != nil && rec.Ended()):
		m.adopt(cur, rec) // not the tombstone of the session this process saw end
	}
}

// restore stores e's state again where the store lost it.
func (m *Manager) restore(ctx context.Context, e *entry) {
	err := m.cfg.Store.CompareAndSwap(ctx, m.key(e.Data.username), nil, m.record(e))
	m.cfg.Logger.Warn("the stored session was gone (did the store lose its data?): stored it again", "env", m.cfg.Environment, "error", err)
}

// adopt publishes the state of rec in place of from, unless something
// else was published meanwhile.
func (m *Manager) adopt(from *entry, rec *keystore.Record) {
	if e := m.fromRecord(rec); m.cache.Adopt(from, e) {
		m.cfg.Logger.Info("took up the stored session another process wrote", "env", m.cfg.Environment, "generation", e.Data.gen)
		m.tookUp(e, rec)
	}
}

// tombstone is the record an ended session leaves in the store: no tokens,
// a generation above the session's, so that every process sharing the
// store learns that the session ended, and why (loggedOut: a logout;
// otherwise its refresh token was rejected or expired).
func (m *Manager) tombstone(d sess, loggedOut bool) *keystore.Record {
	return &keystore.Record{Environment: m.cfg.Environment, Username: d.username, Generation: d.gen + 1,
		LoggedOut: loggedOut, SavedAt: wall(m.cfg.Now())}
}

// bury replaces the stored record of the ended session d with its
// tombstone: the record it was built from or, if another process has
// refreshed the same session since (same refresh token), that one; over a
// record that is gone or another tombstone too. A newer login stays.
func (m *Manager) bury(ctx context.Context, d sess, loggedOut bool) error {
	ctx = context.WithoutCancel(ctx)
	k := m.key(d.username)
	err := m.cfg.Store.CompareAndSwap(ctx, k, d.stored, m.tombstone(d, loggedOut))
	var ce *keystore.ConflictError
	if errors.As(err, &ce) && (ce.Current == nil || ce.Current.RefreshToken == d.refresh || isTombstone(ce.Current)) {
		d.gen = max(d.gen, generation(ce.Current))
		err = m.cfg.Store.CompareAndSwap(ctx, k, ce.Current, m.tombstone(d, loggedOut))
	}
	if errors.As(err, &ce) {
		m.cfg.Logger.Info("kept the stored session: another process stored a newer login", "env", m.cfg.Environment, "user", d.username)
		return nil
	}
	return err
}

// isTombstone reports whether rec is an ended session's record.
func isTombstone(rec *keystore.Record) bool { return rec.Ended() }

// endedFromTombstone is the error of a session whose record is a
// tombstone.
func (m *Manager) endedFromTombstone(rec *keystore.Record) error {
	at := rec.SavedAt.Format(time.RFC3339)
	if rec.LoggedOut {
		return fmt.Errorf("the session of %q in %s: %w at %s: not logged in", rec.Username, m.cfg.Environment, ErrLoggedOut, at)
	}
	return &expiredError{Environment: m.cfg.Environment, Username: rec.Username,
		Cause: fmt.Errorf("the session ended at %s (its refresh token was rejected or expired)", at)}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
