package redis

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// TestRedisSentinelFailover kills the master while a writer keeps swapping
// generations through a Sentinel URL: after the failover the same store
// keeps working on the promoted replica, and its watch still signals.
func TestRedisSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a Sentinel failover takes seconds")
	}
	t.Parallel()
	st := redistest.StartSentinel(t)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	s, err := Open(st.URL(), keyFile, WithWatchPoll(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	env := storehelp.UniqueEnv("prod")
	k := keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemSession}
	ch := watch(t, s, k)

	var written atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); swapLoop(t, s, k, &written, stop) }()
	waitGeneration(t, &written, 5)
	st.KillMaster(t)
	after := written.Load()
	waitGeneration(t, &written, after+5) // writes succeed on the new master
	close(stop)
	<-done

	drain(ch)
	cur := storehelp.MustGet(t, s, k)
	if err := s.CompareAndSwap(t.Context(), k, cur, genRecord(env, "alice", cur.Generation+1)); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "write after the failover")
	if got := storehelp.MustGet(t, s, k).Generation; got != cur.Generation+1 {
		t.Errorf("generation %d after the failover, want %d", got, cur.Generation+1)
	}
}

// swapLoop bumps k's generation until stop, recording each one written;
// errors during the failover are retried.
func swapLoop(t *testing.T, s *Store, k keystore.Key, written *atomic.Uint64, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cur, err := getOrNil(s.Get(ctx, k))
		if err == nil {
			gen := uint64(1)
			if cur != nil {
				gen = cur.Generation + 1
			}
			if err = s.CompareAndSwap(ctx, k, cur, genRecord(k.Environment, k.Username, gen)); err == nil {
				written.Store(gen)
			}
		}
		cancel()
		if err != nil && !errors.Is(err, keystore.ErrUnavailable) && !errors.Is(err, keystore.ErrConflict) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("swap: %v", err)
			return
		}
	}
}

// waitGeneration waits until the writer has written generation want.
func waitGeneration(t *testing.T, written *atomic.Uint64, want uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for written.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("generation %d not written within a minute (last %d)", want, written.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
