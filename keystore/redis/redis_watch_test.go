package redis

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// signalWait is how long a test waits for a watch signal: generous for a
// loaded machine; the test ends as soon as the signal arrives.
const signalWait = 30 * time.Second

// waitSignal fails unless ch delivers a value within signalWait.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the watch channel closed", what)
		}
	case <-time.After(signalWait):
		t.Fatalf("%s: no signal within %s", what, signalWait)
	}
}

// drain empties ch without waiting.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// watch starts a watch that ends with the test, and waits for its first
// (subscribe) signal.
func watch(t *testing.T, s *Store, k keystore.Key) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.Watch(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	waitSignal(t, ch, "subscribe")
	return ch
}

func TestRedisWatch(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	key := testKey(t)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemSession}
	watcher := newRedisStore(t, rdb, key, WithWatchPoll(time.Hour)) // no polling: notices only
	writer := newRedisStore(t, srv.Client(t), key)
	ch := watch(t, watcher, k)

	if err := writer.CompareAndSwap(t.Context(), k, nil, genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "create")
	if got := storehelp.MustGet(t, watcher, k).Generation; got != 1 {
		t.Fatalf("generation %d after the signal", got)
	}
	if err := writer.Set(t.Context(), keystore.Key{Environment: env, Username: "bob"}, genRecord(env, "bob", 9)); err != nil {
		t.Fatal(err)
	}
	if err := writer.Delete(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "delete")

	// The subscription's connection is killed: go-redis subscribes again,
	// and the watch signals so the caller re-reads what it missed.
	drain(ch)
	if err := srv.Client(t).ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "resubscribe after CLIENT KILL TYPE pubsub")
	if err := writer.CompareAndSwap(t.Context(), k, nil, genRecord(env, "alice", 2)); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "write after the resubscribe")
}

// TestRedisWatchPolls: a change that sent no notice is found by polling.
func TestRedisWatchPolls(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	s := newRedisStore(t, rdb, nil, WithWatchPoll(20*time.Millisecond))
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemSession}
	storehelp.MustSet(t, s, k, genRecord(env, "alice", 1))
	ch := watch(t, s, k)
	time.Sleep(100 * time.Millisecond) // a few polls that find nothing new
	drain(ch)
	if err := rdb.HSet(t.Context(), s.base(k), "g", "2").Err(); err != nil { // no PUBLISH
		t.Fatal(err)
	}
	waitSignal(t, ch, "poll")
}

// TestRedisWatchNoLeak: no goroutine outlives a watch (not parallel, so
// that goleak sees only this test's goroutines).
func TestRedisWatchNoLeak(t *testing.T) {
	srv := redistest.StartServer(t)
	key := testKey(t)
	ignore := goleak.IgnoreCurrent()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	s := newRedisStore(t, rdb, key, WithWatchPoll(10*time.Millisecond))
	k := keystore.Key{Environment: storehelp.UniqueEnv("preprod"), Username: "alice"}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "subscribe")
	storehelp.MustSet(t, s, k, genRecord(k.Environment, "alice", 1))
	waitSignal(t, ch, "write")
	cancel()
	for range ch {
	}
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	open := func() *Store {
		s, err := Open(c.URL(), keyFile)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	env := storehelp.UniqueEnv("prod")
	// Users spread over the Cluster's slots; each session in one slot.
	for _, user := range []string{"alice", "bob", "carol", "dave", "eve", "trader{1}"} {
		k := keystore.Key{Environment: env, Username: user, Item: keystore.ItemSession}
		ch := watch(t, a, k)
		if err := b.CompareAndSwap(t.Context(), k, nil, genRecord(env, user, 1)); err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		waitSignal(t, ch, user+" create")
		old := storehelp.MustGet(t, a, k)
		if err := a.CompareAndSwap(t.Context(), k, old, genRecord(env, user, 2)); err != nil {
			t.Fatal(err)
		}
		waitSignal(t, ch, user+" swap")
		var ce *keystore.ConflictError
		if err := b.CompareAndSwap(t.Context(), k, old, genRecord(env, user, 3)); !errors.As(err, &ce) || ce.Current.Generation != 2 {
			t.Fatalf("%s: stale swap: %v", user, err)
		}
		unlock, err := a.Lock(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		st, err := b.Status(t.Context(), k)
		if err != nil || !st.Locked || st.Generation != 2 {
			t.Fatalf("%s: status %+v, %v", user, st, err)
		}
		unlock()
	}
	storehelp.WantLastUser(t, b, env, "trader{1}")
}

// TestRedisWatchRedisDown: a watch on a Redis that is down is no error,
// and still ends (closing its channel) when its context does.
func TestRedisWatchRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	srv.Kill()
	s := newRedisStore(t, rdb, nil, WithWatchPoll(10*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, keystore.Key{Environment: "preprod", Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a few failed polls and reconnections
	cancel()
	deadline := time.After(signalWait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the watch did not end within %s of its context", signalWait)
		}
	}
}
