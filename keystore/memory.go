package keystore

import (
	"context"
	"fmt"
	"sync"

	"github.com/pmx-login/pmx-login/keystore/internal/names"
)

// Memory is a [Store] that keeps records in memory only, for tests and for
// bots that must not persist a session. It copies records in and out and is
// safe for concurrent use. The zero value is not usable: call [NewMemory].
type Memory struct {
	mu      sync.Mutex
	records map[Key]Record
	last    map[string]string
	locks   map[Key]chan struct{}
}

// NewMemory returns an empty in-memory [Store].
func NewMemory() *Memory {
	return &Memory{records: map[Key]Record{}, last: map[string]string{}}
}

// Backend returns "memory".
func (m *Memory) Backend() string { return "memory" }

// Get returns a copy of the record stored under k.
func (m *Memory) Get(ctx context.Context, k Key) (*Record, error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[k]
	if !ok {
		return nil, fmt.Errorf("%w: no %s stored for %s in %s", ErrNotFound, k.Item, k.Username, k.Environment)
	}
	return &r, nil
}

// Set stores a copy of r under k.
func (m *Memory) Set(ctx context.Context, k Key, r *Record) error {
	return m.store(ctx, k, r, nil)
}

// store stores a copy of r under k after check (if set) has accepted what
// is stored now (nil: nothing).
func (m *Memory) store(ctx context.Context, k Key, r *Record, check func(k Key, cur *Record) error) error {
	k, rec, err := Prepare(k, r)
	if err != nil {
		return err
	}
	if _, err := Encode(&rec); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if check != nil {
		if err := check(k, m.lookup(k)); err != nil {
			return err
		}
	}
	m.records[k] = rec
	if k.Item == ItemSession {
		m.last[k.Environment] = k.Username
	}
	return nil
}

// Delete removes the entry under k.
func (m *Memory) Delete(ctx context.Context, k Key) error { return m.remove(ctx, k, nil) }

// remove deletes the entry under k, if check (when not nil) accepts the
// stored record; an absent entry is not an error.
func (m *Memory) remove(ctx context.Context, k Key, check func(Key, *Record) error) error {
	k, err := k.Normalize()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.lookup(k); cur != nil && check != nil {
		if err := check(k, cur); err != nil {
			return err
		}
	}
	delete(m.records, k)
	return nil
}

// LastUser returns the username of the session last stored for env.
func (m *Memory) LastUser(ctx context.Context, env string) (string, error) {
	if err := names.CheckEnvironment(env); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.last[env]
	if !ok {
		return "", fmt.Errorf("%w: no last user recorded for %s", ErrNotFound, env)
	}
	return u, nil
}
