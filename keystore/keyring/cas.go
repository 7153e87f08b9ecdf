package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
)

// CompareAndSwap stores r under key if key still holds old: read, compare
// and write under a lock file, since a keychain has no compare-and-set.
// The lock file serialises it with Set, Delete and CompareAndDelete.
func (k *Store) CompareAndSwap(ctx context.Context, key keystore.Key, old, r *keystore.Record) error {
	w, err := k.writeLock(ctx, key)
	if err != nil {
		return err
	}
	defer w.release()
	cur, err := getOrNil(k.Get(ctx, key))
	if err != nil {
		return err
	}
	if err := keystore.Compare(key, cur, k.asStored(key, old)); err != nil {
		return err
	}
	return k.set(ctx, key, r, w)
}

// CompareAndDelete removes the entry under key if it still holds old.
func (k *Store) CompareAndDelete(ctx context.Context, key keystore.Key, old *keystore.Record) error {
	w, err := k.writeLock(ctx, key)
	if err != nil {
		return err
	}
	defer w.release()
	cur, err := getOrNil(k.Get(ctx, key))
	if err != nil || cur == nil {
		return err
	}
	if err := keystore.Compare(key, cur, k.asStored(key, old)); err != nil {
		return err
	}
	return k.delete(ctx, key, w)
}

// heldLock is a write's lock file. It is released when the write returns,
// unless a keychain call of the write was abandoned at its deadline: then
// only once that call has returned, so that no other write, of this
// process or another, lands between a late write and its caller's
// error. A write reported as failed never replaces one reported as
// done.
type heldLock struct {
	k       *Store
	unlock  func()
	mu      sync.Mutex
	pending []<-chan struct{}
}

// writeLock takes the environment's write lock file; while a write of
// this store that timed out has not returned, it fails at once with the
// keychain's timeout rather than wait for that write.
func (k *Store) writeLock(ctx context.Context, key keystore.Key) (*heldLock, error) {
	if k.stalled.Load() > 0 {
		return nil, unavailable(keychainName(k.goos), timeout,
			fmt.Errorf("no answer within %s: an earlier write to the keychain has not returned yet", k.timeout))
	}
	unlock, err := k.lockFile(ctx, key, "write", k.writeWait())
	if err != nil {
		return nil, err
	}
	return &heldLock{k: k, unlock: unlock}, nil
}

// abandoned records a keychain call left running past its deadline; the
// store counts it as stalled until it returns.
func (w *heldLock) abandoned(finished <-chan struct{}) {
	w.k.stalled.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, finished)
}

// release unlocks now, or once the abandoned calls have returned.
func (w *heldLock) release() {
	w.mu.Lock()
	pending := w.pending
	w.mu.Unlock()
	if len(pending) == 0 {
		w.unlock()
		return
	}
	go func() {
		for _, c := range pending {
			<-c
			w.k.stalled.Add(-1)
		}
		w.unlock()
	}()
}

// Lock takes the cross-process lock on key: a lock file in the lock
// directory ([WithLockDir]), since a keychain has no locks.
func (k *Store) Lock(ctx context.Context, key keystore.Key) (func(), error) {
	return k.lockFile(ctx, key, "hold", securefs.HoldWait)
}

// writeWait bounds the wait for another process's compare-and-set: it
// holds the lock for at most three keychain calls, each bounded by the
// timeout.
func (k *Store) writeWait() time.Duration { return 4 * k.timeout }

// asStored returns old as Set would have stored it: without the cached
// access token when the record is too large for the keychain with it, so
// that a caller comparing with the record it wrote does not conflict with
// itself.
func (k *Store) asStored(key keystore.Key, old *keystore.Record) *keystore.Record {
	if old == nil || old.AccessToken.IsZero() {
		return old
	}
	key, rec, err := keystore.Prepare(key, old)
	if err != nil {
		return old
	}
	b, err := fitRecord(k.goos, k.service(key.Environment, key.Item), key.Username, rec)
	if err != nil {
		return old
	}
	if stored, err := keystore.Decode(b); err == nil && stored.AccessToken.IsZero() {
		return stored
	}
	return old
}

// lockFile takes an exclusive lock file in the lock directory, waiting at
// most wait: for "write", one per environment (writes of one user touch
// the environment's last user too), else one per key and kind.
func (k *Store) lockFile(ctx context.Context, key keystore.Key, kind string, wait time.Duration) (func(), error) {
	key, err := key.Normalize()
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
	if err := securefs.CheckDir(dir); err != nil {
		return nil, err
	}
	name := key.Environment + "." + securefs.EscapeUser(key.Username) + "." + string(key.Item) + "." + kind + ".lock"
	if kind == "write" {
		name = key.Environment + ".write.lock"
	}
	return securefs.LockPath(ctx, filepath.Join(dir, name), true, wait)
}

// defaultLockDir is $XDG_RUNTIME_DIR/pmx-login where it is set (a per-user
// tmpfs), else the file backend's directory.
func defaultLockDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "pmx-login"), nil
	}
	d, err := securefs.DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "locks"), nil
}

// getOrNil turns "not found" into a nil record.
func getOrNil(r *keystore.Record, err error) (*keystore.Record, error) {
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, nil
	}
	return r, err
}
