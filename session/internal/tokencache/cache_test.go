package tokencache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// The cache on its own, with a fixed clock and timers that never fire: an
// entry's state comes from where its schedule puts it against the clock.

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type noTimer struct{}

func (noTimer) Stop() bool { return true }

// rig is a cache whose Fetch the test controls: it counts calls, and
// waits for release when it is set.
type rig struct {
	c       *Cache[int]
	fetches atomic.Int64
	release chan struct{} // nil: Fetch answers at once
	fail    error         // Fetch's error, when set
	next    atomic.Int64  // the token number Fetch hands out next
}

func newRig(t *testing.T, mod func(*Config[int])) *rig {
	t.Helper()
	r := &rig{}
	cfg := Config[int]{
		Now: func() time.Time { return t0 }, Margin: 15 * time.Minute, Budget: time.Minute,
		AfterFunc: func(time.Duration, func()) Stopper { return noTimer{} },
		Fetch: func(ctx context.Context, from *Entry[int]) (*Entry[int], error) {
			r.fetches.Add(1)
			if r.release != nil {
				select {
				case <-r.release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if r.fail != nil {
				return nil, r.fail
			}
			n := int(r.next.Add(1))
			return r.c.NewEntry(traderapi.Secret(fmt.Sprintf("tok-%d", n)), n, Schedule{From: t0, Lifetime: time.Hour}), nil
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	r.c = New(cfg)
	t.Cleanup(func() { r.c.Close(time.Second) })
	return r
}

// publish makes an entry current whose lifetime began age ago: fresh
// (age < 45 min), stale (45-60 min) or expired (past an hour).
func (r *rig) publish(t *testing.T, age time.Duration) *Entry[int] {
	t.Helper()
	e := r.c.NewEntry("tok-0", 0, Schedule{From: t0.Add(-age), Lifetime: time.Hour})
	if ok, err := r.c.Replace(t.Context(), r.c.Epoch(), e); !ok || err != nil {
		t.Fatalf("Replace: %v, %v", ok, err)
	}
	return e
}

func TestFreshTokenIsOneLoadAndNoAllocation(t *testing.T) {
	r := newRig(t, nil)
	r.publish(t, 0)
	ctx := t.Context()
	if allocs := testing.AllocsPerRun(1000, func() { _, _ = r.c.Token(ctx) }); allocs != 0 {
		t.Errorf("Token of a fresh entry allocates %v times, want 0", allocs)
	}
	if tok, err := r.c.Token(ctx); err != nil || tok != "tok-0" || r.fetches.Load() != 0 {
		t.Errorf("Token = %q, %v after %d fetches; want the current token and no fetch", tok, err, r.fetches.Load())
	}
}

func BenchmarkCacheToken(b *testing.B) {
	c := New(Config[int]{Now: func() time.Time { return t0 }, Margin: time.Minute, AfterFunc: func(time.Duration, func()) Stopper { return noTimer{} },
		Fetch: func(context.Context, *Entry[int]) (*Entry[int], error) { return nil, errors.New("unused") }})
	defer c.Close(time.Second)
	if ok, _ := c.Replace(context.Background(), c.Epoch(), c.NewEntry("tok", 0, Schedule{From: t0, Lifetime: time.Hour})); !ok {
		b.Fatal("Replace failed")
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = c.Token(ctx)
		}
	})
}

// TestOneFlightForManyCallers: fifty callers of an expired token wait for
// one Fetch and all get its token.
func TestOneFlightForManyCallers(t *testing.T) {
	r := newRig(t, nil)
	r.release = make(chan struct{})
	r.publish(t, 2*time.Hour)
	var wg sync.WaitGroup
	got := make(chan traderapi.Secret, 50)
	for range 50 {
		wg.Go(func() {
			tok, err := r.c.Token(t.Context())
			if err != nil {
				t.Error(err)
			}
			got <- tok
		})
	}
	for r.fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(r.release)
	wg.Wait()
	close(got)
	for tok := range got {
		if tok != "tok-1" {
			t.Fatalf("a caller got %q, want the one flight's tok-1", tok)
		}
	}
	if n := r.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 50 callers of one expired token, want 1", n)
	}
}

// TestStaleTokenServedWhileRefreshing: a stale but valid token is handed
// out at once while one flight refreshes it in the background.
func TestStaleTokenServedWhileRefreshing(t *testing.T) {
	r := newRig(t, nil)
	r.release = make(chan struct{})
	r.publish(t, 50*time.Minute)
	for range 10 {
		if tok, err := r.c.Token(t.Context()); err != nil || tok != "tok-0" {
			t.Fatalf("Token of a stale entry = %q, %v; want tok-0 at once", tok, err)
		}
	}
	close(r.release)
	for r.c.Current().Token != "tok-1" {
		time.Sleep(time.Millisecond)
	}
	if n := r.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for ten callers of one stale token, want 1", n)
	}
}

// TestLockWaitingServesAValidToken: Fresh waits for the refresh of a stale
// token, until the flight says it waits for another process's lock: then
// the still-valid token is returned and the flight goes on.
func TestLockWaitingServesAValidToken(t *testing.T) {
	locked, unlock := make(chan *Entry[int], 1), make(chan struct{})
	r := newRig(t, func(c *Config[int]) {
		c.Lock = func(_ context.Context, from *Entry[int]) func() {
			locked <- from
			<-unlock
			return func() {}
		}
	})
	stale := r.publish(t, 50*time.Minute)
	done := make(chan *Entry[int], 1)
	go func() {
		e, err := r.c.Fresh(t.Context())
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	from := <-locked
	select {
	case e := <-done:
		t.Fatalf("Fresh returned %v before the flight was known to wait for a lock", e)
	case <-time.After(20 * time.Millisecond):
	}
	r.c.LockWaiting(from)
	if e := <-done; e != stale {
		t.Fatalf("Fresh while the flight waits for a lock = %v, want the stale, valid entry", e)
	}
	close(unlock)
	for r.c.Current() == stale {
		time.Sleep(time.Millisecond)
	}
}

// TestFailedFlightBacksOff: a failed flight's error reaches the caller as
// Config.Failed builds it; while the back-off lasts an expired token gets
// that error without a new Fetch, and a forced Refresh runs one.
func TestFailedFlightBacksOff(t *testing.T) {
	type retryError struct {
		error
		n int
	}
	errDown := errors.New("exchange down")
	r := newRig(t, func(c *Config[int]) {
		c.Backoff = func(int, error) time.Duration { return time.Hour }
		c.Failed = func(err error, n int, _ time.Time) error { return retryError{err, n} }
	})
	r.fail = errDown
	r.publish(t, 2*time.Hour)
	for i := range 3 {
		_, err := r.c.Token(t.Context())
		var re retryError
		if !errors.As(err, &re) || !errors.Is(re.error, errDown) || re.n != 1 {
			t.Fatalf("Token #%d with the last flight failed = %v, want the Failed error of 1 failure", i, err)
		}
	}
	if n, _ := r.c.Failures(); n != 1 || r.fetches.Load() != 1 || r.c.RetryIn() <= 0 {
		t.Fatalf("failures %d, fetches %d, retry in %s; want 1, 1 and a back-off", n, r.fetches.Load(), r.c.RetryIn())
	}
	r.fail = nil
	if e, err := r.c.Refresh(t.Context()); err != nil || e.Token != "tok-1" {
		t.Fatalf("Refresh during the back-off = %v, %v; want a flight", e, err)
	}
	if n, _ := r.c.Failures(); n != 0 {
		t.Errorf("failures after a successful flight: %d, want 0", n)
	}
}

// TestTakeUpClearsFailuresBeforeItShows: an entry taken up from elsewhere
// (Adopt, Replace) ends the failure streak before it is published, so a
// reader that sees the new entry never sees the old failures beside it.
// The timers' scheduler runs as the entry is published: it reads the
// failure count at that moment.
func TestTakeUpClearsFailuresBeforeItShows(t *testing.T) {
	t.Parallel()
	var atPublish atomic.Int64
	var cache atomic.Pointer[Cache[int]] // set once the rig is made
	r := newRig(t, func(c *Config[int]) {
		c.Backoff = func(int, error) time.Duration { return time.Hour }
		c.AfterFunc = func(time.Duration, func()) Stopper {
			if c := cache.Load(); c != nil {
				n, _ := c.Failures()
				atPublish.Store(int64(n))
			}
			return noTimer{}
		}
	})
	cache.Store(r.c)
	r.fail = errors.New("exchange down")
	r.publish(t, 2*time.Hour)
	if _, err := r.c.Token(t.Context()); err == nil {
		t.Fatal("Token with an expired entry and a failing fetch: no error")
	}
	for _, takeUp := range []struct {
		name string
		do   func(e *Entry[int]) bool
	}{
		{"Adopt", func(e *Entry[int]) bool { return r.c.Adopt(r.c.Current(), e) }},
		{"Replace", func(e *Entry[int]) bool { ok, err := r.c.Replace(t.Context(), r.c.Epoch(), e); return ok && err == nil }},
	} {
		r.c.failed(errors.New("exchange down")) // a failure streak again
		atPublish.Store(-1)
		if !takeUp.do(r.c.NewEntry("tok-x", 9, Schedule{From: t0, Lifetime: time.Hour})) {
			t.Fatalf("%s refused a fresh entry", takeUp.name)
		}
		if n := atPublish.Load(); n != 0 {
			t.Errorf("%s: %d failures as the new entry was published, want 0", takeUp.name, n)
		}
	}
}

// TestCloseEndsTheFlightAndItsWaiters: Close cancels a flight in
// progress; its waiters get an error, and the cache refuses new flights.
func TestCloseEndsTheFlightAndItsWaiters(t *testing.T) {
	r := newRig(t, nil)
	r.release = make(chan struct{}) // never closed: only Close ends the flight
	r.publish(t, 2*time.Hour)
	errc := make(chan error, 1)
	go func() { _, err := r.c.Token(t.Context()); errc <- err }()
	for r.fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	r.c.Close(5 * time.Second)
	if err := <-errc; err == nil {
		t.Fatal("a waiter got a token from a flight Close cancelled")
	}
	if _, err := r.c.Refresh(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close = %v, want ErrClosed", err)
	}
}
