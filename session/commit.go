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
		return next, fmt.Errorf("%w: another process stored an older state meanwhile", ErrNotStored)
	}
	m.cfg.Logger.Info("another process stored a newer session; adopting it", "env", m.cfg.Environment, "generation", current.Generation)
	return m.fromRecord(current), nil
}

func generation(r *keystore.Record) uint64 {
	if r == nil {
		return 0
	}
	return r.Generation
}
