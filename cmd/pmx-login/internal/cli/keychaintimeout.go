package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
)

// keychainDeadline wraps the keyring store so that a call cut short by the
// command's deadline (a keychain waiting on an unlock prompt, a hung
// Secret Service) is reported as the keychain not answering: an
// error matching [keyring.ErrTimeout], which [classify] names as
// the keychain, not the network.
type keychainDeadline struct{ keystore.Store }

func keychainErr(err error) error {
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, keystore.ErrUnavailable) {
		return fmt.Errorf("%w: %w", keyring.ErrTimeout, err)
	}
	return err
}

func (s keychainDeadline) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	r, err := s.Store.Get(ctx, k)
	return r, keychainErr(err)
}

func (s keychainDeadline) Set(ctx context.Context, k keystore.Key, r *keystore.Record) error {
	return keychainErr(s.Store.Set(ctx, k, r))
}

func (s keychainDeadline) Delete(ctx context.Context, k keystore.Key) error {
	return keychainErr(s.Store.Delete(ctx, k))
}

func (s keychainDeadline) LastUser(ctx context.Context, env string) (string, error) {
	u, err := s.Store.LastUser(ctx, env)
	return u, keychainErr(err)
}

func (s keychainDeadline) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	return keychainErr(s.Store.CompareAndSwap(ctx, k, old, r))
}

func (s keychainDeadline) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	return keychainErr(s.Store.CompareAndDelete(ctx, k, old))
}

func (s keychainDeadline) Lock(ctx context.Context, k keystore.Key) (func(), error) {
	unlock, err := s.Store.Lock(ctx, k)
	return unlock, keychainErr(err)
}
