package tokencache

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// start joins the flight in progress or starts one from seen, on a context
// detached from ctx (its values kept, its cancellation not) and bounded by
// the budget, which ends early if the epoch ends. Unless force is set, a
// flight that finds a fresh entry other than seen returns it and calls
// nothing.
func (c *Cache[D]) start(ctx context.Context, seen *Entry[D], force bool) <-chan singleflight.Result {
	return c.flight.DoChan("refresh", func() (any, error) {
		from := c.cur.Load()
		if from != nil && from.Err != nil {
			return nil, from.Err
		}
		if !force && from != seen && from.Fresh() {
			return outcome[D]{entry: from}, nil
		}
		if !force {
			// Re-checked here, where flights are serialised: a caller that
			// saw no back-off may get here just after a flight failed.
			if o, err, cooling := c.coolingDown(from); cooling {
				return o, err
			}
		}
		epoch, stop, err := c.enter()
		if err != nil {
			return nil, err
		}
		defer c.active.Done()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Budget)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-fctx.Done():
			}
		}()
		return c.fly(fctx, epoch, from)
	})
}

// coolingDown reports whether a failed flight's back-off forbids a new one
// now; if so it returns what the caller gets instead: from while it is
// still usable, else the last failure.
func (c *Cache[D]) coolingDown(from *Entry[D]) (outcome[D], error, bool) {
	switch {
	case c.RetryIn() == 0:
		return outcome[D]{}, nil, false
	case from.Usable():
		return outcome[D]{entry: from}, nil, true
	}
	return outcome[D]{}, c.failure(), true
}

// failure is the error of the last failed flight, built by Config.Failed.
func (c *Cache[D]) failure() error {
	c.failMu.Lock()
	n, err, next := c.failures, c.lastErr, c.retryAt
	c.failMu.Unlock()
	return c.cfg.Failed(err, n, next)
}

// enter registers a flight of the current epoch.
func (c *Cache[D]) enter() (uint64, chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, nil, ErrClosed
	}
	c.active.Add(1)
	return c.epoch, c.stop, nil
}

// fly fetches, then commits and publishes if from is still current.
func (c *Cache[D]) fly(ctx context.Context, epoch uint64, from *Entry[D]) (any, error) {
	if c.cfg.Lock != nil {
		defer c.cfg.Lock(ctx, from)()
	}
	next, err := c.cfg.Fetch(ctx, from)
	if err != nil {
		return c.fetchFailed(from, err)
	}
	c.succeeded()
	return c.commit(ctx, func() bool { return c.epoch == epoch && c.cur.Load() == from }, from, next)
}

// fetchFailed counts a failed Fetch from the entry from, unless another
// entry was published meanwhile: then that entry, or the reason it ended,
// is the flight's answer. It holds c.mu, so that a take-up (which clears
// the failures before it publishes) cannot come between the look and the
// count.
func (c *Cache[D]) fetchFailed(from *Entry[D], err error) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cur.Load()
	switch {
	case cur != from && cur.Usable():
		return outcome[D]{entry: cur}, nil // replaced meanwhile
	case cur != from && cur.Err != nil:
		return nil, cur.Err // ended meanwhile (logout, close): say so, not "canceled"
	}
	c.failed(err)
	return nil, c.failure()
}

// commit runs the commit hook and publishes, under the lock, if ok still
// holds; otherwise the current entry stands and is returned.
func (c *Cache[D]) commit(ctx context.Context, ok func() bool, from, next *Entry[D]) (outcome[D], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return outcome[D]{}, ErrClosed
	}
	if !ok() {
		cur := c.cur.Load()
		if cur == nil || cur.Err != nil {
			if cur != nil {
				return outcome[D]{}, cur.Err
			}
			return outcome[D]{}, ErrSuperseded
		}
		return outcome[D]{entry: cur}, nil
	}
	var warn error
	if c.cfg.Commit != nil {
		var e *Entry[D]
		if e, warn = c.cfg.Commit(ctx, from, next); e == nil {
			return outcome[D]{}, warn
		}
		next = e
	}
	c.publish(next)
	if next.Err != nil {
		return outcome[D]{}, next.Err
	}
	return outcome[D]{entry: next, warn: warn}, nil
}

// publish makes e current and stops the timers of the entry it replaces;
// c.mu is held.
func (c *Cache[D]) publish(e *Entry[D]) {
	if e.timers[0] == nil && e.timers[1] == nil {
		e.arm(c.cfg.Now(), c.cfg.AfterFunc, c.cfg.Stale)
	}
	if old := c.cur.Swap(e); old != nil && old != e {
		old.disarm()
	}
}

// failed records a failed flight and when the next may start.
func (c *Cache[D]) failed(err error) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	c.failures++
	c.lastErr = err
	c.retryAt = c.cfg.Now().Add(c.cfg.Backoff(c.failures, err))
}

func (c *Cache[D]) succeeded() {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	c.failures, c.lastErr, c.retryAt = 0, nil, time.Time{}
}

// RetryIn returns how long until a flight may start after a failure (0:
// now, or no failure).
func (c *Cache[D]) RetryIn() time.Duration {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failures == 0 {
		return 0
	}
	return max(0, c.retryAt.Sub(c.cfg.Now()))
}

// Failures returns how many flights in a row have failed and the last
// one's error (0 and nil after a success).
func (c *Cache[D]) Failures() (int, error) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.failures, c.lastErr
}
