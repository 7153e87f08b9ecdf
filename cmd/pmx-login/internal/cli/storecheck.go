package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
)

// errStoreCheck marks a keystore found unusable before anything was spent.
var errStoreCheck = errors.New("checked before asking for anything")

// timed bounds ctx by --timeout, for commands that apply it themselves.
func (a *app) timed(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.g.timeout)
}

// checkStore proves the keystore can be read and written before a password
// or one-time code is asked for or spent: it rewrites the user's
// one-time-code record (or writes one and removes it again). A keychain
// that is absent or locked fails here, not after the exchange issued a
// session that could not be kept.
func (a *app) checkStore(ctx context.Context, user string) error {
	ctx, cancel := a.timed(ctx)
	defer cancel()
	st, err := a.store()
	if err != nil {
		return err
	}
	k, err := a.otpStepKey(user)
	if err != nil {
		return err
	}
	sk := k
	sk.Item = keystore.ItemSession
	if _, err := st.Get(ctx, sk); errors.Is(err, redis.ErrDecrypt) {
		// A login would be spent and then revoked: its session could not
		// replace a record this key cannot read.
		return fmt.Errorf("%w: %w", errStoreCheck, err)
	}
	old, err := st.Get(ctx, k)
	switch {
	case isNotFound(err):
		old = nil
	case err != nil:
		return fmt.Errorf("%w: the %s keystore cannot be read: %w", errStoreCheck, st.Backend(), err)
	}
	probe := &keystore.Record{Environment: k.Environment, Username: user, SavedAt: a.io.Now(), Generation: nextGeneration(old)}
	if old != nil {
		probe.LastOTPStep = old.LastOTPStep
	}
	err = st.CompareAndSwap(ctx, k, old, probe)
	switch {
	case errors.Is(err, keystore.ErrConflict):
		return nil // another process wrote it meanwhile: writable
	case err != nil:
		return fmt.Errorf("%w: the %s keystore cannot save a session: %w", errStoreCheck, st.Backend(), err)
	}
	if old == nil {
		_ = st.CompareAndDelete(ctx, k, probe) // leave nothing new behind
	}
	return nil
}
