package file

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
)

// CompareAndSwap stores r under k if k still holds old, under the
// environment's exclusive lock.
func (f *Store) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	return f.store(ctx, k, r, func(k keystore.Key, cur *keystore.Record) error { return keystore.Compare(k, cur, old) })
}

// CompareAndDelete removes the entry under k if it still holds old.
func (f *Store) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	return f.drop(ctx, k, func(k keystore.Key, cur *keystore.Record) error { return keystore.Compare(k, cur, old) })
}

// Lock takes an exclusive flock(2) on <env>/<user>.<item>.lock.
func (f *Store) Lock(ctx context.Context, k keystore.Key) (func(), error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	d, err := f.envDir(k.Environment, true)
	if err != nil {
		return nil, err
	}
	return securefs.LockPath(ctx, filepath.Join(d, securefs.EscapeUser(k.Username)+"."+string(k.Item)+".lock"), true, securefs.HoldWait)
}

// getOrNil turns "not found" into a nil record.
func getOrNil(r *keystore.Record, err error) (*keystore.Record, error) {
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, nil
	}
	return r, err
}
