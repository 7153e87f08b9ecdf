package keystore

import (
	"context"
	"fmt"
)

// Compare is the check of a compare-and-set: nil when the stored record
// cur (nil: none) is [Same] as old, else a [*ConflictError] carrying cur.
// Backends call it under their lock.
func Compare(k Key, cur, old *Record) error {
	if Same(cur, old) {
		return nil
	}
	return &ConflictError{Key: k, Current: cur}
}

// CompareAndSwap stores a copy of r under k if k still holds old.
func (m *Memory) CompareAndSwap(ctx context.Context, k Key, old, r *Record) error {
	return m.store(ctx, k, r, func(k Key, cur *Record) error { return Compare(k, cur, old) })
}

// CompareAndDelete removes the entry under k if it still holds old.
func (m *Memory) CompareAndDelete(ctx context.Context, k Key, old *Record) error {
	return m.remove(ctx, k, func(k Key, cur *Record) error { return Compare(k, cur, old) })
}

// lookup returns a copy of the record under k, nil if none; m.mu is held.
func (m *Memory) lookup(k Key) *Record {
	if r, ok := m.records[k]; ok {
		return &r
	}
	return nil
}

// Lock takes the in-process lock on k.
func (m *Memory) Lock(ctx context.Context, k Key) (func(), error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[Key]chan struct{}{}
	}
	ch, ok := m.locks[k]
	if !ok {
		ch = make(chan struct{}, 1)
		m.locks[k] = ch
	}
	m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keystore: waiting for the lock on %s: %w", k, err)
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("keystore: waiting for the lock on %s: %w", k, ctx.Err())
	}
}
