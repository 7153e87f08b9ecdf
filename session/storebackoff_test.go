package session_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// countingStore counts the calls that reach the real store beneath it.
type countingStore struct {
	session.Store
	calls atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *countingStore) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	c.calls.Add(1)
	return c.Store.CompareAndSwap(ctx, k, old, r)
}

func (c *countingStore) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	c.calls.Add(1)
	return c.Store.CompareAndDelete(ctx, k, old)
}

func (c *countingStore) Lock(ctx context.Context, k keystore.Key) (func(), error) {
	c.calls.Add(1)
	return c.Store.Lock(ctx, k)
}

func (c *countingStore) LastUser(ctx context.Context, env string) (string, error) {
	c.calls.Add(1)
	return c.Store.LastUser(ctx, env)
}

// TestFrozenStoreCostsOneTimeout: with Redis frozen (SIGSTOP), the first
// refresh's lock call times out (within half the token's lifetime) and the
// manager leaves the store alone for a back-off period: the refreshes in
// it make no store call, and serve tokens. After the period one call tries
// the store again (still frozen: the period doubles); once Redis answers,
// the next call after the period finds it, and the manager says so once.
func TestFrozenStoreCostsOneTimeout(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: ttl})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	client, err := srv.Client(traderapi.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.StartServer(t)
	store := &countingStore{Store: openFleetStore(t, rs.URL(), writeRedisKey(t), "bot/1")}
	var down, back atomic.Int64
	m, err := session.New(session.Config{Client: client, Store: store, Username: testUser, Now: clock, Retry: fleetRetry,
		Events: session.ObserverFunc(func(e session.Event) {
			switch e.Type {
			case session.EventStoreUnavailable:
				down.Add(1)
			case session.EventStoreBack:
				back.Add(1)
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	refresh := func() {
		t.Helper()
		_ = m.Refresh(t.Context()) // the new token is not stored while Redis is frozen: ErrNotStored
		if _, err := m.Token(t.Context()); err != nil {
			t.Fatalf("Token with Redis frozen: %v", err)
		}
	}

	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	defer rs.Continue()
	before := store.calls.Load()
	refresh() // the lock call times out: the back-off starts (1 s)
	refresh()
	refresh()
	if n := store.calls.Load() - before; n != 1 {
		t.Fatalf("%d store calls for three refreshes with Redis frozen, want 1 (one timeout, then the back-off)", n)
	}
	advance(1100 * time.Millisecond)
	refresh() // after the back-off: one more try, which times out (2 s now)
	advance(1100 * time.Millisecond)
	refresh() // still in the longer back-off
	if n := store.calls.Load() - before; n != 2 {
		t.Fatalf("%d store calls, want 2: one try after the first back-off, none in the doubled one", n)
	}
	if err := rs.Continue(); err != nil {
		t.Fatal(err)
	}
	advance(time.Second)
	refresh() // Redis answers: lock, re-read and store
	if n := store.calls.Load() - before; n < 4 {
		t.Errorf("%d store calls after Redis came back, want the refresh to use it again", n)
	}
	if err := m.Close(); err != nil { // delivers the events
		t.Fatal(err)
	}
	if down.Load() != 1 || back.Load() != 1 {
		t.Errorf("store unavailable %d times and back %d times, want once each", down.Load(), back.Load())
	}
	if calls := srv.Calls(traderapi.PathRefresh); calls != 6 {
		t.Errorf("%d refresh calls on the exchange for 6 refreshes, want 6 (the store's outage costs none)", calls)
	}
}
