package redis

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/keystore/storetest"
	"github.com/pmx-login/pmx-login/traderapi"
)

// testKey writes a new key file in a temporary directory and loads it.
func testKey(t *testing.T) *EncryptionKey {
	t.Helper()
	k, err := WriteKeyFile(filepath.Join(t.TempDir(), "redis.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newRedisStore returns a store over rdb with its own key unless one is
// given.
func newRedisStore(t *testing.T, rdb goredis.UniversalClient, key *EncryptionKey, opts ...Option) *Store {
	t.Helper()
	if key == nil {
		key = testKey(t)
	}
	s, err := New(rdb, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	key := testKey(t)
	storetest.TestStore(t, func(t *testing.T) keystore.Store { return newRedisStore(t, rdb, key) })
}

// genRecord is a session record at generation gen with distinct tokens.
func genRecord(env, user string, gen uint64) *keystore.Record {
	r := storehelp.Record(env, user)
	r.Generation = gen
	r.RefreshToken = traderapi.Secret(fmt.Sprintf("%s-gen%d", storehelp.Refresh, gen))
	return r
}

func TestRedisCompareAndSwapFencing(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	a, b := newRedisStore(t, rdb, key, WithSavedBy("a/1")), newRedisStore(t, rdb, key, WithSavedBy("b/2"))
	ctx, env := t.Context(), storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}

	if err := a.CompareAndSwap(ctx, k, nil, genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	var ce *keystore.ConflictError
	if err := b.CompareAndSwap(ctx, k, nil, genRecord(env, "alice", 1)); !errors.As(err, &ce) || ce.Current.Generation != 1 {
		t.Fatalf("a second create: %v, want a conflict holding generation 1", err)
	}
	storehelp.WantLastUser(t, a, env, "alice")
	seen := storehelp.MustGet(t, a, k) // a stale writer reads storehelp.Generation 1 ...
	if err := b.CompareAndSwap(ctx, k, storehelp.MustGet(t, b, k), genRecord(env, "alice", 2)); err != nil {
		t.Fatal(err)
	}
	// ... and its late write is refused, with what is stored now.
	err := a.CompareAndSwap(ctx, k, seen, genRecord(env, "alice", 3))
	if !errors.As(err, &ce) || !errors.Is(err, keystore.ErrConflict) || ce.Current == nil || ce.Current.Generation != 2 ||
		ce.Current.RefreshToken != genRecord(env, "alice", 2).RefreshToken {
		t.Fatalf("stale write: %v, want a conflict holding generation 2", err)
	}
	// Never a lower or equal generation.
	cur := storehelp.MustGet(t, a, k)
	if err := a.CompareAndSwap(ctx, k, cur, genRecord(env, "alice", 2)); err == nil || errors.Is(err, keystore.ErrConflict) {
		t.Fatalf("same generation: %v, want a plain error", err)
	}
	if err := a.CompareAndDelete(ctx, k, seen); !errors.As(err, &ce) || ce.Current.Generation != 2 {
		t.Fatalf("stale delete: %v", err)
	}
	if err := a.CompareAndDelete(ctx, k, cur); err != nil {
		t.Fatal(err)
	}
	_, err = a.Get(ctx, k)
	storehelp.WantNotFound(t, err)
	if u, err := a.LastUser(ctx, env); err != nil || u != "alice" {
		t.Errorf("last user after the delete: %q, %v; want alice (kept)", u, err)
	}
	if err := a.CompareAndSwap(ctx, k, cur, genRecord(env, "alice", 5)); !errors.As(err, &ce) || ce.Current != nil {
		t.Fatalf("swap over a deleted entry: %v, want a conflict with nothing stored", err)
	}
	if err := a.CompareAndDelete(ctx, k, cur); err != nil {
		t.Fatalf("deleting an absent entry: %v", err)
	}
}

// TestRedisConcurrentWriters races writers that each read, bump the
// generation and swap: every generation is written exactly once.
func TestRedisConcurrentWriters(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	const writers, each = 4, 15
	var wins sync.Map
	var wg sync.WaitGroup
	for w := range writers {
		s := newRedisStore(t, rdb, key, WithSavedBy(fmt.Sprintf("w/%d", w)))
		wg.Go(func() {
			for n := 0; n < each; {
				cur, err := getOrNil(s.Get(t.Context(), k))
				if err != nil {
					t.Error(err)
					return
				}
				gen := uint64(1)
				if cur != nil {
					gen = cur.Generation + 1
				}
				err = s.CompareAndSwap(t.Context(), k, cur, genRecord(env, "alice", gen))
				if errors.Is(err, keystore.ErrConflict) {
					continue
				} else if err != nil {
					t.Error(err)
					return
				}
				if _, dup := wins.LoadOrStore(gen, w); dup {
					t.Errorf("generation %d written twice", gen)
				}
				n++
			}
		})
	}
	wg.Wait()
	if got := storehelp.MustGet(t, newRedisStore(t, rdb, key), k).Generation; got != writers*each {
		t.Errorf("final generation %d, want %d", got, writers*each)
	}
}

// TestRedisWrongKey: a process with another key gets a clear error naming
// its key file, and the record is left as it is; a rotated store reads
// both.
func TestRedisWrongKey(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	good, wrong := testKey(t), testKey(t)
	a, b := newRedisStore(t, rdb, good), newRedisStore(t, rdb, wrong)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	want := genRecord(env, "alice", 3)
	storehelp.MustSet(t, a, k, want)
	before := dumpHash(t, rdb, a.base(k))
	if !strings.Contains(before, "g:3") {
		t.Fatalf("stored hash: %s", before)
	}

	_, err := b.Get(t.Context(), k)
	var de *decryptError
	if !errors.As(err, &de) || !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), wrong.source) {
		t.Fatalf("wrong key: %v, want a DecryptError naming %s", err, wrong.source)
	}
	if errors.Is(err, keystore.ErrNotFound) || errors.Is(err, keystore.ErrCorrupt) {
		t.Errorf("%v must not look like not-found or corrupt (callers delete those)", err)
	}
	if err := b.CompareAndSwap(t.Context(), k, nil, genRecord(env, "alice", 1)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong key's create over a record: %v, want ErrDecrypt", err)
	}
	if err := b.Set(t.Context(), k, genRecord(env, "alice", 9)); !errors.As(err, &de) || !strings.Contains(err.Error(), wrong.source) {
		t.Errorf("wrong key's Set over a record: %v, want a DecryptError naming %s", err, wrong.source)
	}
	if after := dumpHash(t, rdb, a.base(k)); after != before {
		t.Error("the record changed")
	}
	storehelp.SameRecord(t, storehelp.MustGet(t, a, k), want)

	rotated := newRedisStore(t, rdb, wrong, WithOlderKeys(good))
	storehelp.SameRecord(t, storehelp.MustGet(t, rotated, k), want)
	if err := rotated.CompareAndSwap(t.Context(), k, want, genRecord(env, "alice", 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(t.Context(), k); !errors.Is(err, ErrDecrypt) {
		t.Errorf("old key after rotation: %v", err)
	}

	// A generation field rolled back, or a record moved to another user, does not decrypt.
	if err := rdb.HSet(t.Context(), rotated.base(k), "g", "3").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Get(t.Context(), k); !errors.As(err, &de) || errors.Is(err, ErrWrongKey) {
		t.Errorf("rolled-back generation: %v, want a DecryptError", err)
	}
	if err := rdb.Copy(t.Context(), rotated.base(k), rotated.base(keystore.Key{Environment: env, Username: "bob", Item: keystore.ItemSession}), 0, true).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Get(t.Context(), keystore.Key{Environment: env, Username: "bob"}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("record moved to bob: %v, want ErrDecrypt", err)
	}
}

// dumpHash returns a hash's fields and values, sorted.
func dumpHash(t *testing.T, rdb goredis.UniversalClient, key string) string {
	t.Helper()
	m, err := rdb.HGetAll(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(m)
}

// TestRedisNothingReadable stores sessions and a TOTP secret, locks and
// watches, then scans every key and value in Redis for a secret.
func TestRedisNothingReadable(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	s := newRedisStore(t, rdb, nil, WithWatchPoll(10*time.Millisecond))
	env := storehelp.UniqueEnv("preprod")
	k, kt := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemTOTP}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	storehelp.MustSet(t, s, k, storehelp.Record(env, "alice"))
	storehelp.MustSet(t, s, kt, &keystore.Record{OTPAuthURL: storehelp.OTPURL})
	if err := s.CompareAndSwap(t.Context(), k, storehelp.MustGet(t, s, k), genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	scanForSecrets(t, rdb)
	unlock()
	cancel()
	for range ch {
	}
}

// scanForSecrets SCANs every key of every type and fails on a secret.
func scanForSecrets(t *testing.T, rdb goredis.UniversalClient) {
	t.Helper()
	var all strings.Builder
	keys, err := rdb.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	iter := rdb.Scan(t.Context(), 0, "*", 100).Iterator()
	n := 0
	for iter.Next(t.Context()) {
		n++
		key := iter.Val()
		vals, err := redistest.Values(t.Context(), rdb, key)
		if err != nil {
			t.Error(err)
		}
		fmt.Fprintf(&all, "%s %s", key, strings.Join(vals, " "))
		all.WriteString("\n")
	}
	if iter.Err() != nil || n != len(keys) || n < 4 {
		t.Fatalf("scanned %d keys (KEYS says %d): %v", n, len(keys), iter.Err())
	}
	text := all.String()
	for _, secret := range []string{storehelp.Refresh, storehelp.Access, storehelp.OTPURL, "refresh-secret", "access-secret", "JBSWY3DP", "eyJhbGci"} {
		if strings.Contains(text, secret) {
			t.Fatalf("Redis holds %q in plain text:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, ":{") || !strings.Contains(text, "lock") {
		t.Fatalf("the scan missed the records or the lock:\n%s", text)
	}
}

// getOrNil turns "not found" into a nil record.
func getOrNil(r *keystore.Record, err error) (*keystore.Record, error) {
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, nil
	}
	return r, err
}
