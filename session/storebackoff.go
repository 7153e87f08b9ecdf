package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// The back-off of a store that failed as unavailable (down, or frozen
// and timing out): the first period, and the longest.
const (
	storeBackoffMin = time.Second
	storeBackoffMax = 30 * time.Second
)

// backoffStore is the one way the manager reaches its store. Once a call
// fails as unavailable ([keystore.ErrUnavailable]: Redis down, or frozen
// until the call's deadline), every call of the next back-off period
// fails at once with a *storeSkippedError without touching the store:
// a frozen store costs one timeout, not one per call. The period starts
// at storeBackoffMin and doubles up to storeBackoffMax while the store
// keeps failing; the first call that gets an answer ends it. Every call
// made reports its outcome to state (for the store's unavailable and back
// events).
type backoffStore struct {
	Store
	now   func() time.Time
	state func(err error)
	b     *storeBackoff
}

// storeBackoff is the state a backoffStore's copies share.
type storeBackoff struct {
	mu     sync.Mutex
	until  time.Time
	period time.Duration
	last   error
}

// storeSkippedError is a store call the manager did not make: the store
// failed as unavailable (err) and is left alone until until. It matches
// what err matches ([keystore.ErrUnavailable]).
type storeSkippedError struct {
	err   error
	until time.Time
}

// Error says the store was skipped, until when, and why.
func (e *storeSkippedError) Error() string {
	return fmt.Sprintf("the store is left alone until %s after it failed: %v", e.until.Format(time.RFC3339Nano), e.err)
}

// Unwrap returns the store's failure.
func (e *storeSkippedError) Unwrap() error { return e.err }

// do runs f unless the store is in its back-off period, and records
// the outcome. A call the caller cancelled says nothing about the store.
func (s backoffStore) do(f func() error) error {
	if err := s.b.skip(s.now()); err != nil {
		return err
	}
	err := f()
	if errors.Is(err, context.Canceled) && !errors.Is(err, keystore.ErrUnavailable) {
		return err
	}
	s.b.record(s.now(), err)
	s.state(err)
	return err
}

func (b *storeBackoff) skip(now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.until) {
		return &storeSkippedError{err: b.last, until: b.until}
	}
	return nil
}

func (b *storeBackoff) record(now time.Time, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !errors.Is(err, keystore.ErrUnavailable) {
		b.period, b.last, b.until = 0, nil, time.Time{}
		return
	}
	b.period = min(max(2*b.period, storeBackoffMin), storeBackoffMax)
	b.last, b.until = err, now.Add(b.period)
}

// Get reads k unless the store is in its back-off period.
func (s backoffStore) Get(ctx context.Context, k keystore.Key) (rec *keystore.Record, err error) {
	err = s.do(func() error { rec, err = s.Store.Get(ctx, k); return err })
	return rec, err
}

// CompareAndSwap writes k unless the store is in its back-off period.
func (s backoffStore) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	return s.do(func() error { return s.Store.CompareAndSwap(ctx, k, old, r) })
}

// CompareAndDelete deletes k unless the store is in its back-off period.
func (s backoffStore) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	return s.do(func() error { return s.Store.CompareAndDelete(ctx, k, old) })
}

// Lock takes k's lock unless the store is in its back-off period.
func (s backoffStore) Lock(ctx context.Context, k keystore.Key) (unlock func(), err error) {
	err = s.do(func() error { unlock, err = s.Store.Lock(ctx, k); return err })
	return unlock, err
}

// LastUser reads env's last user unless the store is in its back-off
// period.
func (s backoffStore) LastUser(ctx context.Context, env string) (u string, err error) {
	err = s.do(func() error { u, err = s.Store.LastUser(ctx, env); return err })
	return u, err
}
