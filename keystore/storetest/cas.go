package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// wantConflict fails unless err is a *keystore.ConflictError whose Current is the
// same version as want (nil: nothing stored), naming no secret.
func wantConflict(t *testing.T, err error, want *keystore.Record) {
	t.Helper()
	var ce *keystore.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, keystore.ErrConflict) {
		t.Fatalf("got %v, want a *ConflictError", err)
	}
	if !keystore.Same(ce.Current, want) {
		t.Fatalf("ConflictError.Current = %v, want %v", ce.Current, want)
	}
	if strings.Contains(err.Error(), storehelp.Refresh) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("conflict error holds a token: %v", err)
	}
}

// testCAS is the compare-and-set and Lock part of the suite.
func testCAS(t *testing.T, newStore func(t *testing.T) keystore.Store) {
	t.Run("CompareAndSwapNilOnEmpty", func(t *testing.T) {
		t.Parallel()
		s, k := fresh(t, newStore, "preprod", "alice")
		env := k.Environment
		r1 := storehelp.Generation(env, "alice", 1)
		if err := s.CompareAndSwap(t.Context(), k, nil, r1); err != nil {
			t.Fatalf("CompareAndSwap(nil) on an empty entry: %v", err)
		}
		if got := storehelp.MustGet(t, s, k); !keystore.Same(got, r1) {
			t.Fatalf("stored %v, want %v", got, r1)
		}
		storehelp.WantLastUser(t, s, env, "alice")
		// A second "create" loses to the first.
		wantConflict(t, s.CompareAndSwap(t.Context(), k, nil, storehelp.Generation(env, "alice", 2)), r1)
		if got := storehelp.MustGet(t, s, k); !keystore.Same(got, r1) {
			t.Fatalf("a lost CompareAndSwap changed the store to %v", got)
		}
	})
	t.Run("CompareAndSwapStale", func(t *testing.T) {
		t.Parallel()
		s, k := fresh(t, newStore, "preprod", "alice")
		env := k.Environment
		r1, r2, r3 := storehelp.Generation(env, "alice", 1), storehelp.Generation(env, "alice", 2), storehelp.Generation(env, "alice", 3)
		storehelp.MustSet(t, s, k, r1)
		if err := s.CompareAndSwap(t.Context(), k, storehelp.MustGet(t, s, k), r2); err != nil {
			t.Fatalf("CompareAndSwap from the stored record: %v", err)
		}
		wantConflict(t, s.CompareAndSwap(t.Context(), k, r1, r3), r2)
		if got := storehelp.MustGet(t, s, k); !keystore.Same(got, r2) {
			t.Fatalf("a stale CompareAndSwap changed the store to %v", got)
		}
		// Expecting a record where none is stored is a conflict too.
		k2 := keystore.Key{Environment: env, Username: "nobody"}
		wantConflict(t, s.CompareAndSwap(t.Context(), k2, r1, storehelp.Generation(env, "nobody", 2)), nil)
		_, err := s.Get(t.Context(), k2)
		storehelp.WantNotFound(t, err)
	})
	t.Run("CompareAndDeleteOnlyItsRecord", func(t *testing.T) {
		t.Parallel()
		s, k := fresh(t, newStore, "preprod", "alice")
		env := k.Environment
		old, newer := storehelp.Generation(env, "alice", 1), storehelp.Generation(env, "alice", 2)
		storehelp.MustSet(t, s, k, old)
		storehelp.MustSet(t, s, k, newer) // another process refreshed
		wantConflict(t, s.CompareAndDelete(t.Context(), k, old), newer)
		if got := storehelp.MustGet(t, s, k); !keystore.Same(got, newer) {
			t.Fatalf("the newer record did not survive: %v", got)
		}
		storehelp.WantLastUser(t, s, env, "alice")
		if err := s.CompareAndDelete(t.Context(), k, newer); err != nil {
			t.Fatalf("CompareAndDelete of the stored record: %v", err)
		}
		_, err := s.Get(t.Context(), k)
		storehelp.WantNotFound(t, err)
		if err := s.CompareAndDelete(t.Context(), k, newer); err != nil {
			t.Fatalf("CompareAndDelete of an absent entry: %v", err)
		}
	})
	t.Run("CompareAndSetLastUser", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("prod")
		alice, bob := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "bob"}
		carolTOTP := keystore.Key{Environment: env, Username: "carol", Item: keystore.ItemTOTP}
		storehelp.CleanupKeys(t, s, alice, bob, carolTOTP)
		ra, rb := storehelp.Generation(env, "alice", 1), storehelp.Generation(env, "bob", 1)
		for _, kr := range []struct {
			k keystore.Key
			r *keystore.Record
		}{{alice, ra}, {bob, rb}, {carolTOTP, &keystore.Record{OTPAuthURL: storehelp.OTPURL, Generation: 1}}} {
			if err := s.CompareAndSwap(t.Context(), kr.k, nil, kr.r); err != nil {
				t.Fatal(err)
			}
		}
		storehelp.WantLastUser(t, s, env, "bob") // a TOTP item is not a session
		if err := s.CompareAndDelete(t.Context(), alice, ra); err != nil {
			t.Fatal(err)
		}
		storehelp.WantLastUser(t, s, env, "bob") // not the last user: kept
		if err := s.CompareAndDelete(t.Context(), bob, rb); err != nil {
			t.Fatal(err)
		}
		storehelp.WantLastUser(t, s, env, "bob") // the last user outlives a logout
	})
	t.Run("LockExcludesGoroutines", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("preprod")
		k := keystore.Key{Environment: env, Username: "alice"}
		var inside, total atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				for range 20 {
					unlock, err := s.Lock(t.Context(), k)
					if err != nil {
						errs <- err
						return
					}
					if inside.Add(1) != 1 {
						errs <- errors.New("two holders of one lock")
					}
					total.Add(1)
					inside.Add(-1)
					unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if total.Load() != 80 {
			t.Fatalf("%d critical sections ran, want 80", total.Load())
		}
	})
	t.Run("LockWaiterGivesUp", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("preprod")
		k := keystore.Key{Environment: env, Username: "alice"}
		unlock, err := s.Lock(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		// Another key's lock is independent.
		other, err := s.Lock(t.Context(), keystore.Key{Environment: env, Username: "bob"})
		if err != nil {
			t.Fatalf("Lock on another key while one is held: %v", err)
		}
		other()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := s.Lock(ctx, k); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock while held, until a deadline: %v, want context.DeadlineExceeded", err)
		}
		done, cancelNow := context.WithCancel(t.Context())
		cancelNow()
		if _, err := s.Lock(done, k); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock with a cancelled context: %v, want context.Canceled", err)
		}
		unlock()
		// The waiters that gave up do not keep the lock.
		again, err := s.Lock(t.Context(), k)
		if err != nil {
			t.Fatalf("Lock after the holder released it: %v", err)
		}
		again()
	})
}
