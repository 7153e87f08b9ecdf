package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
)

// unlockScript deletes KEYS[1] only if it still holds ARGV[1], the owner.
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Lock takes k's lease lock: SET lock owner NX PX lease, where owner is a
// random id followed by the [WithSavedBy] tag. It polls with short,
// jittered sleeps until it gets the lock or ctx is done (at most 5 minutes
// when ctx has no deadline). The lock ends at unlock, or when the lease
// ([WithLockLease]) runs out, whichever comes first: a holder that dies or
// stalls loses it, so writes stay fenced by [Store.CompareAndSwap]. unlock
// releases the lock only if this holder still owns it.
func (s *Store) Lock(ctx context.Context, k keystore.Key) (func(), error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, securefs.HoldWait)
		defer cancel()
	}
	owner := strings.ToLower(rand.Text()[:16]) + " " + s.cfg.savedBy
	key := s.lockKey(k)
	for wait := 5 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		err := s.rdb.SetArgs(ctx, key, owner, goredis.SetArgs{Mode: "NX", TTL: s.cfg.lease}).Err()
		if err == nil {
			return s.unlocker(ctx, k, key, owner), nil
		}
		if !errors.Is(err, goredis.Nil) {
			return nil, s.fail("lock", k, err)
		}
		t := time.NewTimer(wait/2 + mrand.N(wait))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("keystore: waiting for the lock on %s: %w", k, ctx.Err())
		}
	}
}

// unlocker returns the function that releases a lock this store holds.
func (s *Store) unlocker(ctx context.Context, k keystore.Key, key, owner string) func() {
	ctx = context.WithoutCancel(ctx)
	return func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(ctx, s.rdb, []string{key}, owner).Err()
	}
}

// Status is what a status command shows about an entry, read
// without decrypting anything.
type Status struct {
	// Stored is whether an entry exists; the next three fields are its.
	Stored     bool
	Generation uint64
	// KeyID is the id of the key that encrypted the record.
	KeyID   string
	SavedAt time.Time
	// SavedBy is the writer's tag ([WithSavedBy]: hostname/pid).
	SavedBy string
	// Locked is whether someone holds the entry's lease lock;
	// LockHolder is the holder's tag and LockTTL the lease left.
	Locked     bool
	LockHolder string
	LockTTL    time.Duration
}

// Status reads k's generation, when and by whom it was saved, and who
// holds its lock, without decrypting the record.
func (s *Store) Status(ctx context.Context, k keystore.Key) (*Status, error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	var hm *goredis.SliceCmd
	var owner *goredis.StringCmd
	var ttl *goredis.DurationCmd
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		hm = p.HMGet(ctx, s.base(k), hashFields...)
		owner = p.Get(ctx, s.lockKey(k))
		ttl = p.PTTL(ctx, s.lockKey(k))
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, s.fail("status", k, err)
	}
	st, ok, err := parseStored(k, hm.Val())
	if err != nil {
		return nil, err
	}
	out := &Status{Stored: ok, Generation: st.gen, KeyID: st.keyID, SavedAt: st.savedAt, SavedBy: st.savedBy}
	if o := owner.Val(); o != "" {
		_, tag, _ := strings.Cut(o, " ")
		out.Locked, out.LockHolder, out.LockTTL = true, tag, max(ttl.Val(), 0)
	}
	return out, nil
}
