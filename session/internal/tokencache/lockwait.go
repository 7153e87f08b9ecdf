package tokencache

import "sync"

// contention records that the flight from an entry is waiting for a
// cross-process lock (another process holds it): callers of [Cache.Fresh]
// that hold that entry while it is valid stop waiting and use it.
type contention[D any] struct {
	mu     sync.Mutex
	from   *Entry[D]
	ch     chan struct{}
	closed bool
}

// waiting returns the channel that is closed once the flight from from
// waits for a lock.
func (c *contention[D]) waiting(from *Entry[D]) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.of(from)
}

// of returns from's channel, a new one if the last was another entry's;
// c.mu is held.
func (c *contention[D]) of(from *Entry[D]) chan struct{} {
	if c.from != from || c.ch == nil {
		c.from, c.ch, c.closed = from, make(chan struct{}), false
	}
	return c.ch
}

// LockWaiting tells the cache that the flight from from is waiting for a
// cross-process lock that another process holds. [Cache.Fresh] callers
// that hold from while it is valid then return it instead of waiting: a
// lock never stalls a caller that holds a valid token.
func (c *Cache[D]) LockWaiting(from *Entry[D]) {
	w := &c.lockWait
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch := w.of(from); !w.closed {
		w.closed = true
		close(ch)
	}
}
