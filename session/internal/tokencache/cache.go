package tokencache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pmx-login/pmx-login/traderapi"
)

// ErrClosed is returned once the cache is closed.
var ErrClosed = errors.New("closed: Close was called")

// ErrSuperseded: a flight's result, or a Replace, lost to a login, logout
// or close.
var ErrSuperseded = errors.New("superseded by a login, logout or close")

// Config is what a [Cache] needs. Fetch is required.
type Config[D any] struct {
	// Fetch gets a new entry to replace from (nil: none yet). It returns an
	// ended entry (see [NewEnded]) when the session is over, and an error
	// when the attempt failed and the old entry stays.
	Fetch func(ctx context.Context, from *Entry[D]) (*Entry[D], error)
	// Commit, if set, runs under the publish lock before next is
	// published: it stores next and may return another entry to publish
	// instead (a newer one it found stored). A non-nil error with a
	// non-nil entry is a warning: the entry is published and the error is
	// handed to the caller of Refresh.
	Commit func(ctx context.Context, from, next *Entry[D]) (*Entry[D], error)
	// Lock, if set, is taken around each flight's Fetch and Commit (a
	// cross-process lock) and released by the function it returns, so that
	// what one flight stores is written before the next flight anywhere
	// begins and re-reads the store.
	Lock func(ctx context.Context, from *Entry[D]) (unlock func())
	// Now is the clock; its monotonic reading is used when it has one.
	Now func() time.Time
	// Margin is how long before expiry a token goes stale (capped at half
	// the lifetime); Jitter shortens it by up to that fraction.
	Margin time.Duration
	Jitter float64
	// Budget bounds one flight.
	Budget time.Duration
	// Backoff is the wait after the nth consecutive failed flight.
	Backoff func(n int, err error) time.Duration
	// Failed, if set, builds the error callers get from a failed flight,
	// and while its back-off lasts, from the flight's error, the failed
	// flights in a row and when the next may start.
	Failed func(err error, failures int, next time.Time) error
	// Stale is called (never blocking) when the current token goes stale.
	Stale func()
	// None is the error Token returns before anything was published;
	// without it, Token fetches the first entry.
	None error
	// AfterFunc schedules the flags' timers (default [time.AfterFunc]).
	AfterFunc func(time.Duration, func()) Stopper
}

// Cache holds the current entry. It is safe for concurrent use.
type Cache[D any] struct {
	cfg    Config[D]
	cur    atomic.Pointer[Entry[D]]
	flight singleflight.Group

	mu     sync.Mutex // publishing, epochs, closing; never on the hot path
	epoch  uint64
	stop   chan struct{} // closed when the epoch ends: flights of it stop
	closed bool
	active sync.WaitGroup // flights running

	lockWait contention[D] // a flight waiting for a cross-process lock

	failMu   sync.Mutex
	failures int
	retryAt  time.Time
	lastErr  error
}

// New returns an empty cache.
func New[D any](cfg Config[D]) *Cache[D] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stale == nil {
		cfg.Stale = func() {}
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }
	}
	if cfg.Failed == nil {
		cfg.Failed = func(err error, _ int, next time.Time) error {
			return fmt.Errorf("the last refresh failed (next attempt at %s): %w", next.Format(time.RFC3339), err)
		}
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int, error) time.Duration { return 0 }
	}
	return &Cache[D]{cfg: cfg, stop: make(chan struct{})}
}

// Current returns the current entry (nil: none).
func (c *Cache[D]) Current() *Entry[D] { return c.cur.Load() }

// Token returns a usable token. A fresh one costs one atomic load and one
// flag read. A stale one is returned while one flight refreshes it (unless
// a recent failure asks to wait); without a usable one, Token waits for the
// flight or ctx.
func (c *Cache[D]) Token(ctx context.Context) (traderapi.Secret, error) {
	if e := c.cur.Load(); e != nil && !e.stale.Load() {
		return e.Token, nil
	}
	e, err := c.slow(ctx)
	if err != nil {
		return "", err
	}
	return e.Token, nil
}

// Entry is [Cache.Token] returning the whole entry, for callers that need
// the token together with its expiry.
func (c *Cache[D]) Entry(ctx context.Context) (*Entry[D], error) {
	if e := c.cur.Load(); e != nil && !e.stale.Load() {
		return e, nil
	}
	return c.slow(ctx)
}

func (c *Cache[D]) slow(ctx context.Context) (*Entry[D], error) {
	e := c.cur.Load()
	switch {
	case e == nil && c.cfg.None != nil:
		return nil, c.cfg.None
	case e == nil:
		return c.wait(ctx, c.start(ctx, nil, false))
	case e.Err != nil:
		return nil, e.Err
	case !e.stale.Load():
		return e, nil // refreshed since the fast path looked
	}
	wait := c.RetryIn()
	if !e.expired.Load() {
		if wait == 0 {
			c.start(ctx, e, false)
		}
		return e, nil
	}
	if wait > 0 {
		return nil, c.failure()
	}
	return c.wait(ctx, c.start(ctx, e, false))
}

// Fresh is [Cache.Entry] for a caller that will hold the token for a
// while (a one-shot process): a stale token is refreshed (or a fresher
// one adopted) and waited for, unless a recent failure asks to wait or the
// refresh waits for another process's lock ([Cache.LockWaiting]), in which
// cases the stale token is returned while it is valid.
func (c *Cache[D]) Fresh(ctx context.Context) (*Entry[D], error) {
	e := c.cur.Load()
	if e == nil || e.Err != nil || !e.stale.Load() {
		return c.Entry(ctx)
	}
	if c.RetryIn() > 0 {
		return c.slow(ctx)
	}
	r, err := c.waitOr(ctx, c.start(ctx, e, false), c.lockWait.waiting(e), e)
	if err != nil && e.Usable() {
		return e, nil
	}
	return r, err
}

// waitOr waits for a flight's outcome or ctx; once busy is closed (the
// flight waits for another process's lock) it returns e instead, while e
// is usable.
func (c *Cache[D]) waitOr(ctx context.Context, ch <-chan singleflight.Result, busy <-chan struct{}, e *Entry[D]) (*Entry[D], error) {
	select {
	case r := <-ch:
		o, _ := r.Val.(outcome[D])
		if r.Err != nil {
			return nil, r.Err
		}
		return o.entry, o.warn
	case <-busy:
		if e.Usable() {
			return e, nil
		}
		return c.wait(ctx, ch)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the token refresh: %w", ctx.Err())
	}
}

// Refresh runs a flight now, whatever the state of the current entry and
// of the back-off, and waits for it or ctx. It returns the new current
// entry and the commit's warning, if any.
func (c *Cache[D]) Refresh(ctx context.Context) (*Entry[D], error) {
	e := c.cur.Load()
	if e == nil && c.cfg.None != nil {
		return nil, c.cfg.None
	}
	if e != nil && e.Err != nil {
		return nil, e.Err
	}
	for {
		r, err := c.wait(ctx, c.start(ctx, e, true))
		if r != nil && r == e && err == nil {
			continue // joined a flight that found e fresh and called nothing
		}
		return r, err
	}
}

// wait waits for a flight's outcome or ctx.
func (c *Cache[D]) wait(ctx context.Context, ch <-chan singleflight.Result) (*Entry[D], error) {
	return c.waitOr(ctx, ch, nil, nil) // a nil busy channel never fires
}

// outcome is a flight's result: the entry now current and a warning.
type outcome[D any] struct {
	entry *Entry[D]
	warn  error
}
