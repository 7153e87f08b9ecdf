package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
)

// commit stores next before it is published; the token cache runs it under
// its publish lock, so no logout or close can come between the write and
// the publish. Every write is a compare-and-set against the record next was
// built from. A refresh that finds a newer record adopts it instead; a new
// login replaces whatever is stored; an ended session leaves a tombstone.
// A store that fails is a warning: next is published and the error,
// matching [ErrNotStored], goes to the caller of Refresh or Login.
func (m *Manager) commit(ctx context.Context, _, next *entry) (*entry, error) {
	ctx = context.WithoutCancel(ctx)
	switch {
	case next.Err != nil:
		if errors.Is(next.Err, ErrSessionExpired) && !next.Data.adopted {
			if err := m.bury(ctx, next.Data, false); err != nil {
				m.cfg.Logger.Warn("could not mark the stored session ended", "env", m.cfg.Environment, "error", err)
			}
		}
		return next, nil
	case next.Data.adopted:
		return next, nil
	case !next.Data.login && m.storeDown.Load():
		return next, fmt.Errorf("%w: the store was unavailable when the refresh began", ErrNotStored)
	}
	rec := m.record(next)
	err := m.cfg.Store.CompareAndSwap(ctx, m.key(rec.Username), next.Data.stored, rec)
	var ce *keystore.ConflictError
	if errors.As(err, &ce) {
		if !next.Data.login {
			return m.lost(ctx, ce.Current, next)
		}
		if next.Data.relogin && !mayContinue(ce.Current, next.Data) {
			return m.refused(ctx, ce.Current, next)
		}
		if rec.Generation <= generation(ce.Current) {
			rec.Generation = generation(ce.Current) + 1
			next.Data.gen = rec.Generation
		}
		err = m.cfg.Store.CompareAndSwap(ctx, m.key(rec.Username), ce.Current, rec)
	}
	if err != nil {
		m.cfg.Logger.Warn("could not store the session", "env", m.cfg.Environment, "error", err)
		return next, fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	next.Data.stored = rec
	return next, nil
}

// lost handles a refresh whose write lost to another process: its newer
// record (or tombstone) is adopted; a record that is gone (the store lost
// it) is written again.
func (m *Manager) lost(ctx context.Context, current *keystore.Record, next *entry) (*entry, error) {
	if current == nil {
		next.Data.stored = nil
		return m.commit(ctx, nil, next)
	}
	if current.Generation < next.Data.gen {
		// An older state (a late write, a copy written back): ours replaces it.
		rec := m.record(next)
		if err := m.cfg.Store.CompareAndSwap(ctx, m.key(rec.Username), current, rec); err != nil {
			return next, fmt.Errorf("%w: another process stored an older state meanwhile: %w", ErrNotStored, err)
		}
		next.Data.stored = rec
		return next, nil
	}
	m.cfg.Logger.Info("another process stored a newer session; adopting it", "env", m.cfg.Environment, "generation", current.Generation)
	e := m.fromRecord(current)
	m.tookUp(e, current)
	return e, nil
}

// mayContinue reports whether an automatic relogin's state, built from
// the session it continues (its base, d.stored), may replace cur, which a
// write of another process left: a record that is gone (a store that lost
// its data), the tombstone of a session whose refresh token was rejected,
// or the same session another process refreshed. A logout's tombstone or
// a newer login is not the session the relogin continues.
func mayContinue(cur *keystore.Record, d sess) bool {
	base := d.stored
	switch {
	case cur == nil:
		return true
	case cur.LoggedOut:
		return false
	case isTombstone(cur):
		return true
	}
	return base != nil && cur.RefreshToken == base.RefreshToken
}

// refused ends an automatic relogin whose intent no longer holds: the new
// session is revoked and the stored record (a logout, a newer login) is
// taken up instead.
func (m *Manager) refused(ctx context.Context, cur *keystore.Record, next *entry) (*entry, error) {
	m.cfg.Logger.Info("re-login dropped: the session was logged out or replaced meanwhile", "env", m.cfg.Environment, "generation", cur.Generation)
	if err := m.revoke(ctx, next); err != nil {
		m.cfg.Logger.Warn("could not revoke the dropped re-login's session", "env", m.cfg.Environment, "error", err)
	}
	return m.fromRecord(cur), nil
}

func generation(r *keystore.Record) uint64 {
	if r == nil {
		return 0
	}
	return r.Generation
}
