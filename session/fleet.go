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
// background refresher runs, if the store can be watched: a newer record
// another process stored is adopted at once, a removed record (a logout
// anywhere) ends the session, an ended one (a tombstone) ends it with
// ErrSessionExpired, and a new login brings an ended session back. It
// returns when ctx ends.
func (m *Manager) follow(ctx context.Context) {
	w, ok := m.cfg.Store.(watcher)
	if !ok {
		return
	}
	for ctx.Err() == nil {
		user := m.username()
		if user == "" {
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		m.followUser(ctx, w, user)
	}
}

// followUser watches one user's record until ctx ends or the manager's
// user changes.
func (m *Manager) followUser(ctx context.Context, w watcher, user string) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed, err := w.Watch(wctx, m.key(user))
	if err != nil {
		m.cfg.Logger.Warn("cannot watch the stored session; retrying", "env", m.cfg.Environment, "error", err)
		sleep(ctx, 5*time.Second)
		return
	}
	for range changed {
		if m.username() != user {
			return
		}
		m.sync(wctx, user)
	}
}

// sync re-reads the stored record and adopts what it says, if it is newer
// than what this process holds.
func (m *Manager) sync(ctx context.Context, user string) {
	cur := m.cache.Current()
	if cur == nil || cur.Data.final {
		return
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(user))
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		if cur.Err == nil && cur.Data.stored != nil {
			m.adopt(cur, m.ended(cur.Data, m.loggedOutElsewhere(cur.Data)))
		}
	case err != nil:
		m.cfg.Logger.Warn("could not re-read the stored session", "env", m.cfg.Environment, "error", err)
	case rec.Generation > cur.Data.gen:
		m.adopt(cur, m.fromRecord(rec))
	}
}

// adopt publishes e in place of from, unless something else was published
// meanwhile.
func (m *Manager) adopt(from, e *entry) {
	if m.cache.Adopt(from, e) {
		m.cfg.Logger.Info("took up the stored session another process wrote", "env", m.cfg.Environment, "generation", e.Data.gen)
	}
}

func (m *Manager) loggedOutElsewhere(d sess) error {
	return fmt.Errorf("the stored session of %q in %s was removed (logged out elsewhere): %w", d.username, m.cfg.Environment, ErrNotLoggedIn)
}

// tombstone is the record an ended session leaves in the store: no tokens,
// a generation above the session's, so that every process sharing the
// store learns that the session ended (and not that someone logged out).
func (m *Manager) tombstone(d sess) *keystore.Record {
	return &keystore.Record{Environment: m.cfg.Environment, Username: d.username, Generation: d.gen + 1, SavedAt: wall(m.cfg.Now())}
}

// entomb replaces the stored record of the ended session d with its
// tombstone: the record it was built from or, if another process has
// refreshed the same session since, that one. A newer login stays.
func (m *Manager) entomb(ctx context.Context, d sess) {
	ctx = context.WithoutCancel(ctx)
	k := m.key(d.username)
	err := m.cfg.Store.CompareAndSwap(ctx, k, d.stored, m.tombstone(d))
	var ce *keystore.ConflictError
	if errors.As(err, &ce) && ce.Current != nil && ce.Current.RefreshToken == d.refresh {
		d.gen = max(d.gen, ce.Current.Generation)
		err = m.cfg.Store.CompareAndSwap(ctx, k, ce.Current, m.tombstone(d))
	}
	if err != nil && !errors.As(err, &ce) {
		m.cfg.Logger.Warn("could not mark the stored session ended", "env", m.cfg.Environment, "error", err)
	}
}

// isTombstone reports whether rec is an ended session's record.
func isTombstone(rec *keystore.Record) bool { return rec.RefreshToken == "" }

// endedFromTombstone is the error of a session whose record is a
// tombstone.
func (m *Manager) endedFromTombstone(rec *keystore.Record) error {
	return &ExpiredError{Environment: m.cfg.Environment, Username: rec.Username,
		Cause: fmt.Errorf("the session ended at %s (its refresh token was rejected or expired)", rec.SavedAt.Format(time.RFC3339))}
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
