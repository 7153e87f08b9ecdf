package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// holdWait bounds how long [Store.Lock] waits for the file and keyring
// backends, whatever ctx allows: the lock is held around one refresh (a
// few HTTP round trips, each bounded by the client's timeout), so a lock
// held this long belongs to a stuck or stopped process, and the waiter
// fails with an error saying so instead of hanging behind it.
const holdWait = 2 * time.Minute

// casCheck compares the stored record cur (nil: none) with old.
func casCheck(k Key, cur, old *Record) error {
	if Same(cur, old) {
		return nil
	}
	return &ConflictError{Key: k, Current: cur}
}

// getOrNil turns "not found" into a nil record.
func getOrNil(r *Record, err error) (*Record, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// CompareAndSwap stores a copy of r under k if k still holds old.
func (m *Memory) CompareAndSwap(ctx context.Context, k Key, old, r *Record) error {
	return m.store(ctx, k, r, func(k Key, cur *Record) error { return casCheck(k, cur, old) })
}

// CompareAndDelete removes the entry under k if it still holds old.
func (m *Memory) CompareAndDelete(ctx context.Context, k Key, old *Record) error {
	k, err := k.normalize()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.lookup(k)
	if cur == nil {
		return nil
	}
	if err := casCheck(k, cur, old); err != nil {
		return err
	}
	delete(m.records, k)
	return nil
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
	k, err := k.normalize()
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

// CompareAndSwap stores r under k if k still holds old, under the
// environment's exclusive lock.
func (f *File) CompareAndSwap(ctx context.Context, k Key, old, r *Record) error {
	return f.store(ctx, k, r, func(k Key, cur *Record) error { return casCheck(k, cur, old) })
}

// CompareAndDelete removes the entry under k if it still holds old.
func (f *File) CompareAndDelete(ctx context.Context, k Key, old *Record) error {
	return f.drop(ctx, k, func(k Key, cur *Record) error { return casCheck(k, cur, old) })
}

// Lock takes an exclusive flock(2) on <env>/<user>.<item>.lock.
func (f *File) Lock(ctx context.Context, k Key) (func(), error) {
	k, err := k.normalize()
	if err != nil {
		return nil, err
	}
	d, err := f.envDir(k.Environment, true)
	if err != nil {
		return nil, err
	}
	return lockPath(ctx, filepath.Join(d, escapeUser(k.Username)+"."+string(k.Item)+".lock"), true, holdWait)
}

// CompareAndSwap stores r under key if key still holds old: read, compare
// and write under a lock file, since a keychain has no compare-and-set.
// The lock file serialises it with Set, Delete and CompareAndDelete.
func (k *Keyring) CompareAndSwap(ctx context.Context, key Key, old, r *Record) error {
	unlock, err := k.lockFile(ctx, key, "write", k.writeWait())
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := getOrNil(k.Get(ctx, key))
	if err != nil {
		return err
	}
	if err := casCheck(key, cur, k.asStored(key, old)); err != nil {
		return err
	}
	return k.set(ctx, key, r)
}

// CompareAndDelete removes the entry under key if it still holds old.
func (k *Keyring) CompareAndDelete(ctx context.Context, key Key, old *Record) error {
	unlock, err := k.lockFile(ctx, key, "write", k.writeWait())
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := getOrNil(k.Get(ctx, key))
	if err != nil || cur == nil {
		return err
	}
	if err := casCheck(key, cur, k.asStored(key, old)); err != nil {
		return err
	}
	return k.delete(ctx, key)
}

// Lock takes the cross-process lock on key: a lock file in the lock
// directory ([WithLockDir]), since a keychain has no locks.
func (k *Keyring) Lock(ctx context.Context, key Key) (func(), error) {
	return k.lockFile(ctx, key, "hold", holdWait)
}

// writeWait bounds the wait for another process's compare-and-set: it
// holds the lock for at most three keychain calls, each bounded by the
// timeout.
func (k *Keyring) writeWait() time.Duration { return 4 * k.timeout }

// asStored returns old as Set would have stored it: without the cached
// access token when the record is too large for the keychain with it, so
// that a caller comparing with the record it wrote does not conflict with
// itself.
func (k *Keyring) asStored(key Key, old *Record) *Record {
	if old == nil || old.AccessToken.IsZero() {
		return old
	}
	key, rec, err := prepare(key, old)
	if err != nil {
		return old
	}
	b, err := fitRecord(k.goos, k.service(key.Environment, key.Item), key.Username, rec)
	if err != nil {
		return old
	}
	if stored, err := Decode(b); err == nil && stored.AccessToken.IsZero() {
		return stored
	}
	return old
}

// lockFile takes an exclusive lock file in the lock directory, waiting at
// most wait: for "write", one per environment (writes of one user touch
// the environment's last user too), else one per key and kind.
func (k *Keyring) lockFile(ctx context.Context, key Key, kind string, wait time.Duration) (func(), error) {
	key, err := key.normalize()
	if err != nil {
		return nil, err
	}
	dir := k.lockDir
	if dir == "" {
		if dir, err = defaultLockDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keystore: creating the lock directory: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	name := key.Environment + "." + escapeUser(key.Username) + "." + string(key.Item) + "." + kind + ".lock"
	if kind == "write" {
		name = key.Environment + ".write.lock"
	}
	return lockPath(ctx, filepath.Join(dir, name), true, wait)
}

// defaultLockDir is $XDG_RUNTIME_DIR/pmx-login where it is set (a per-user
// tmpfs), else the file backend's directory.
func defaultLockDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "pmx-login"), nil
	}
	d, err := DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "locks"), nil
}
