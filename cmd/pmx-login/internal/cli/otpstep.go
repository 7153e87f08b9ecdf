package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// otpPeriod is the exchange's TOTP window, in seconds.
const otpPeriod = 30

// The exchange accepts each TOTP window's code once. The keystore keeps,
// per user, the last window a login or confirmation used
// (keystore.ItemOTPStep, Record.LastOTPStep), so that no process of any
// user's offers that window's code again, whatever its source.

// otpStep returns the window holding t.
func otpStep(t time.Time) int64 { return t.Unix() / otpPeriod }

func (a *app) otpStepKey(user string) (keystore.Key, error) {
	env, err := a.environment()
	return keystore.Key{Environment: env.Name, Username: user, Item: keystore.ItemOTPStep}, err
}

// lastOTPStep returns the last window recorded as used by user (0: none
// recorded, or the keystore could not say).
func (a *app) lastOTPStep(ctx context.Context, user string) int64 {
	k, err := a.otpStepKey(user)
	if err != nil {
		return 0
	}
	st, err := a.store()
	if err != nil {
		return 0
	}
	rec, err := st.Get(ctx, k)
	if err != nil {
		return 0
	}
	return rec.LastOTPStep
}

// claimOTPStep records step as used by user, under the store's
// cross-process lock, unless it (or a later one) is recorded already:
// then it returns false and records nothing.
func (a *app) claimOTPStep(ctx context.Context, user string, step int64) (bool, error) {
	k, err := a.otpStepKey(user)
	if err != nil {
		return false, err
	}
	st, err := a.store()
	if err != nil {
		return false, err
	}
	unlock, err := st.Lock(ctx, k)
	if err != nil {
		return false, err
	}
	defer unlock()
	old, err := st.Get(ctx, k)
	switch {
	case isNotFound(err):
		old = nil
	case err != nil:
		return false, err
	case old.LastOTPStep >= step:
		return false, nil
	}
	rec := &keystore.Record{Environment: k.Environment, Username: user, LastOTPStep: step, SavedAt: a.io.Now(), Generation: nextGeneration(old)}
	if err := st.CompareAndSwap(ctx, k, old, rec); err != nil {
		return false, err
	}
	return true, nil
}

// noteOTPUsed records the window a code the exchange accepted was used in.
// A keystore that cannot record it only loses the warning of a later run.
func (a *app) noteOTPUsed(ctx context.Context, user string, step int64) {
	if _, err := a.claimOTPStep(ctx, user, step); err != nil && a.g.debug {
		fmt.Fprintf(a.io.Err, "note: the used one-time code window was not recorded: %v\n", err)
	}
}

// sendWithCode runs send with a one-time code from src and records the
// window it used. A generated code (the stored secret) is for a window no
// process has used: the window is claimed before the code is sent, and a
// used one waited out. A code from anywhere else is the user's: when the
// exchange refuses it and its window was already used, the error says so
// and when the next code comes; on a terminal the user is offered to wait
// for it, and it is asked for. Waiting is on ctx, which carries no
// --timeout: it is not counted.
func (a *app) sendWithCode(ctx context.Context, user string, src mfa.CodeSource, generated bool,
	send func(context.Context, traderapi.Secret) error) error {
	for {
		last := a.lastOTPStep(ctx, user)
		code, step, err := a.freshCode(ctx, user, src, generated)
		if err != nil {
			return err
		}
		err = send(ctx, code)
		if err == nil || errors.Is(err, session.ErrNotStored) {
			a.noteOTPUsed(ctx, user, step)
			return err
		}
		if generated || !codeRefused(err) || step > last {
			return err
		}
		used := &otpUsedError{next: time.Unix((last+1)*otpPeriod, 0).Sub(a.io.Now())}
		if !a.io.InTTY {
			return fmt.Errorf("%w: %w", used, err)
		}
		if ok, cerr := a.confirm(ctx, used.Error()+". Wait for it?"); cerr != nil || !ok {
			return errors.Join(fmt.Errorf("%w: %w", used, err), cerr)
		}
		if err := a.io.Sleep(ctx, used.next); err != nil {
			return err
		}
		src = promptSource{a: a} // the spent code's source gave what it had
	}
}

// codeRefused reports the exchange turning down a one-time code.
func codeRefused(err error) bool {
	ae, ok := errors.AsType[*traderapi.APIError](err)
	return errors.Is(err, mfa.ErrCodeRejected) ||
		ok && ae.Endpoint == traderapi.PathLogin && errors.Is(ae, traderapi.ErrOTPRequired)
}

// freshCode returns a code from src and the window it is for. A generated
// code is for a window no process has used, claimed under the store's
// lock; a used one is waited out, saying so.
func (a *app) freshCode(ctx context.Context, user string, src mfa.CodeSource, generated bool) (traderapi.Secret, int64, error) {
	for {
		now := a.io.Now()
		step := otpStep(now)
		if !generated {
			code, err := src.Code(ctx)
			return code, step, err
		}
		last := a.lastOTPStep(ctx, user)
		if step > last {
			ok, err := a.claimOTPStep(ctx, user, step)
			if err != nil || ok {
				code, cerr := src.Code(ctx)
				return code, step, cerr // a keystore error: the code is still good
			}
			continue // another process took this window
		}
		wait := time.Unix((last+1)*otpPeriod, 0).Sub(now)
		fmt.Fprintf(a.io.Err, "The code of this window was already used; waiting %s for the next one…\n", wait.Round(time.Second))
		if err := a.io.Sleep(ctx, wait); err != nil {
			return "", 0, err
		}
	}
}

// nextGeneration is the generation of a record that replaces old: every
// write raises it (the Redis store refuses one that does not).
func nextGeneration(old *keystore.Record) uint64 {
	if old == nil {
		return 1
	}
	return old.Generation + 1
}
