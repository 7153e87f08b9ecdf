package tokencache

import (
	"context"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Epoch returns the current epoch, for a later [Cache.Replace].
func (c *Cache[D]) Epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// Replace publishes e (a login's result) if no Replace, End or Close came
// since epoch was taken, running the commit hook first. It starts a new
// epoch: flights in progress lose their right to publish. It reports
// whether e was published, with the commit's warning.
func (c *Cache[D]) Replace(ctx context.Context, epoch uint64, e *Entry[D]) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, ErrClosed
	}
	if c.epoch != epoch {
		return false, ErrSuperseded
	}
	var warn error
	if c.cfg.Commit != nil {
		var got *Entry[D]
		if got, warn = c.cfg.Commit(ctx, c.cur.Load(), e); got == nil {
			return false, warn
		}
		e = got
	}
	c.newEpoch()
	c.succeeded() // before publishing: whoever sees e sees no old failures beside it
	c.publish(e)
	return true, warn
}

// Adopt publishes e without the commit hook if the current entry is still
// from (an entry read from a store): used when loading a stored session.
// A usable e clears the failure count and the back-off: the failures were
// this process's, and the session is no longer in trouble.
func (c *Cache[D]) Adopt(from, e *Entry[D]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cur.Load() != from {
		return false
	}
	if e.Usable() {
		c.succeeded() // a token another process got ends this one's failure streak
	}
	c.publish(e)
	return true
}

// End publishes the ended entry that end returns for the current entry
// (a logout) unconditionally, and ends every flight's right to publish. It
// returns the entry it replaced, so that the caller ends that session and
// not one it read earlier: a Replace may have come in between.
func (c *Cache[D]) End(end func(cur *Entry[D]) *Entry[D]) (*Entry[D], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	cur := c.cur.Load()
	c.newEpoch()
	c.publish(end(cur))
	return cur, nil
}

// newEpoch stops the flights of the current epoch; c.mu is held.
func (c *Cache[D]) newEpoch() {
	c.epoch++
	close(c.stop)
	c.stop = make(chan struct{})
}

// Close stops the timers, cancels the flights and ends their right to
// publish, and waits at most wait for them to return. It is idempotent.
func (c *Cache[D]) Close(wait time.Duration) {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.newEpoch()
		if e := c.cur.Load(); e != nil {
			e.disarm()
		}
		c.cur.Store(NewEnded(*new(D), ErrClosed))
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.active.Wait(); close(done) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// Invalidate marks tok expired if it is still the current token (the server
// rejected it), so that the next Token refreshes. Only that exact token is
// dropped.
func (c *Cache[D]) Invalidate(tok traderapi.Secret) {
	if e := c.cur.Load(); e != nil && e.Err == nil && e.Token == tok {
		e.expire()
	}
}

// Recheck re-reads the current entry's flags against the wall clock (after
// a suspend, when monotonic timers fire late) and cues a refresh if the
// entry went stale. It reports whether anything changed.
func (c *Cache[D]) Recheck() bool {
	e := c.cur.Load()
	if e == nil || !e.recheck(c.cfg.Now().Round(0)) {
		return false
	}
	c.cfg.Stale()
	return true
}
