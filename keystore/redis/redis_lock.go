package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
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

// renewScript extends KEYS[1]'s lease to ARGV[2] ms only if it still
// holds ARGV[1], the owner.
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// Lock takes k's lease lock: SET lock owner NX PX lease, where owner is a
// random id, "/" and the lease in milliseconds, then the [WithSavedBy] tag. It polls with short,
// jittered sleeps until it gets the lock or ctx is done (at most 5 minutes
// when ctx has no deadline). While held, the lease ([WithLockLease]) is
// renewed every third of it; the lock ends at unlock, or when a lease runs
// out unrenewed: a holder that dies or stalls loses it within one lease,
// and its late writes stay fenced by [Store.CompareAndSwap]. unlock stops
// the renewals and releases the lock only if this holder still owns it.
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
	owner := strings.ToLower(rand.Text()[:16]) + "/" + strconv.FormatInt(s.cfg.lease.Milliseconds(), 10) + " " + s.cfg.savedBy
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

// unlocker renews the lease of a lock this store holds until the
// function it returns is called, which releases the lock.
func (s *Store) unlocker(ctx context.Context, k keystore.Key, key, owner string) func() {
	ctx = context.WithoutCancel(ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	if s.cfg.noRenew {
		close(stopped)
	} else {
		go s.renew(ctx, key, owner, stop, stopped)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-stopped
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = unlockScript.Run(ctx, s.rdb, []string{key}, owner).Err()
		})
	}
}

// renew extends the lease every third of it until stop is closed or the
// lock is no longer this holder's.
func (s *Store) renew(ctx context.Context, key, owner string, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(s.cfg.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.lease/3)
		n, err := renewScript.Run(rctx, s.rdb, []string{key}, owner, s.cfg.lease.Milliseconds()).Int()
		cancel()
		if err == nil && n == 0 {
			return // lost: the lease ran out (a stall) and someone else may hold it
		}
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
	// LockSilent is set when the holder has not renewed its lease for over
	// two thirds of it (a live holder renews it every third, so it missed
	// two renewals): it died or is stalled, and the lock ends when LockTTL
	// runs out.
	LockSilent bool
}

// Status reads k's generation, when and by whom it was saved, and who
// holds its lock, without decrypting the record. The fields are hostile
// input (anyone who can write to Redis wrote them): the key id is shown
// only in its hex form, and the saved-by and lock-holder tags without
// control or format characters.
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
	out := &Status{Stored: ok, Generation: st.gen, SavedAt: st.savedAt, SavedBy: printable(st.savedBy)}
	if ok {
		out.KeyID = shownKeyID(st.keyID)
	}
	if o := owner.Val(); o != "" {
		id, tag, _ := strings.Cut(o, " ")
		out.Locked, out.LockHolder, out.LockTTL = true, printable(tag), max(ttl.Val(), 0)
		out.LockSilent = out.LockTTL < s.holderLease(id)/3
	}
	return out, nil
}

// holderLease reads the lease a holder took from the id part of its lock
// value ("random/ms"); a lock of an older pmx-login, which does not say,
// is taken to have this store's lease.
func (s *Store) holderLease(id string) time.Duration {
	_, ms, ok := strings.Cut(id, "/")
	if n, err := strconv.ParseInt(ms, 10, 64); ok && err == nil && n > 0 {
		return time.Duration(n) * time.Millisecond
	}
	return s.cfg.lease
}
