package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

func TestRedisLockExclusion(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	k := keystore.Key{Environment: storehelp.UniqueEnv("preprod"), Username: "alice"}
	var inside, total atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		s := newRedisStore(t, rdb, key, WithSavedBy(fmt.Sprintf("p/%d", i)))
		wg.Go(func() {
			for range 5 {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				unlock, err := s.Lock(ctx, k)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				time.Sleep(time.Millisecond)
				total.Add(1)
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	if total.Load() != 30 {
		t.Errorf("%d critical sections, want 30", total.Load())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	s := newRedisStore(t, rdb, key)
	unlock, err := s.Lock(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := s.Lock(ctx, k); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), k.String()) {
		t.Errorf("a held lock: %v, want the context's error naming the entry", err)
	}
}

// TestRedisLeaseExpiry: a holder that stalls past its lease loses the lock
// to another, cannot release the new holder's lock, and its late write is
// refused.
func TestRedisLeaseExpiry(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	stalled := newRedisStore(t, rdb, key, WithLockLease(300*time.Millisecond), WithSavedBy("stalled/1"), stalls())
	next := newRedisStore(t, rdb, key, WithLockLease(time.Minute), WithSavedBy("next/2"))
	if err := next.Set(t.Context(), k, genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	unlockStalled, err := stalled.Lock(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	seen := storehelp.MustGet(t, stalled, k)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	unlockNext, err := next.Lock(ctx, k) // waits until the lease ends
	if err != nil {
		t.Fatal(err)
	}
	if err := next.CompareAndSwap(t.Context(), k, storehelp.MustGet(t, next, k), genRecord(env, "alice", 2)); err != nil {
		t.Fatal(err)
	}
	unlockStalled() // no longer the owner: must not release next's lock
	st, err := next.Status(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Locked || st.LockHolder != "next/2" || st.LockTTL <= 0 || st.LockTTL > time.Minute {
		t.Errorf("status after the stale unlock: %+v", st)
	}
	if st.Generation != 2 || st.SavedBy != "next/2" || st.SavedAt.IsZero() || st.KeyID != key.ID() || !st.Stored {
		t.Errorf("status: %+v", st)
	}
	if err := stalled.CompareAndSwap(t.Context(), k, seen, genRecord(env, "alice", 2)); !errors.Is(err, keystore.ErrConflict) {
		t.Errorf("the stalled holder's late write: %v, want a conflict", err)
	}
	unlockNext()
	if st, _ := next.Status(t.Context(), k); st.Locked {
		t.Errorf("still locked after unlock: %+v", st)
	}
}

// stalls makes a store's lock holder stall: its lease is never renewed.
func stalls() Option { return func(c *config) error { c.noRenew = true; return nil } }

// TestRedisLeaseRenewed: a live holder keeps the lock past many leases
// (renewed every third of one); another gets it only after unlock.
func TestRedisLeaseRenewed(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	holder := newRedisStore(t, rdb, key, WithSavedBy("holder/1"))
	other := newRedisStore(t, rdb, key, WithSavedBy("other/2"))
	unlock, err := holder.Lock(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), defaultLockLease*3/2)
	defer cancel()
	if _, err := other.Lock(ctx, k); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another took the lock while its holder was alive, past one lease (%v)", err)
	}
	unlock()
	unlock() // twice is fine
	ctx2, cancel2 := context.WithTimeout(t.Context(), defaultLockLease)
	defer cancel2()
	unlockOther, err := other.Lock(ctx2, k)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlockOther()
}

// TestStatusTellsALiveHolderFromASilentOne: a holder that renews its
// lease shows as live through more than a lease; one that stalls (its
// renewals stop) shows as silent once two thirds of its lease have gone
// unrenewed,
// before the lock ends.
func TestStatusTellsALiveHolderFromASilentOne(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	env := storehelp.UniqueEnv("preprod")
	live, stalled := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "bob"}
	const lease = 1200 * time.Millisecond
	reader := newRedisStore(t, rdb, key, WithLockLease(lease))
	unlock, err := newRedisStore(t, rdb, key, WithSavedBy("live/1"), WithLockLease(lease)).Lock(t.Context(), live)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := newRedisStore(t, rdb, key, WithSavedBy("stalled/2"), WithLockLease(lease), stalls()).Lock(t.Context(), stalled); err != nil {
		t.Fatal(err)
	}
	sawSilent := false
	for end := time.Now().Add(2 * lease); time.Now().Before(end); time.Sleep(lease / 10) {
		if st, err := reader.Status(t.Context(), live); err != nil || !st.Locked || st.LockSilent {
			t.Fatalf("the live holder's lock: %+v, %v; want locked and not silent", st, err)
		}
		st, err := reader.Status(t.Context(), stalled)
		if err != nil {
			t.Fatal(err)
		}
		if st.Locked && st.LockSilent {
			sawSilent = true
			if st.LockTTL >= lease/3 || st.LockHolder != "stalled/2" {
				t.Errorf("silent holder: %+v, want under a third of the lease left, holder stalled/2", st)
			}
		}
	}
	if !sawSilent {
		t.Error("the stalled holder never showed as silent before its lease ran out")
	}
}
