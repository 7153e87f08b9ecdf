// Package eventq delivers a session's events to its observer: a bounded
// queue that one goroutine empties, so that the manager never waits for a
// slow observer. When the queue is full, new events are dropped and
// counted; the count rides on the next event delivered.
package eventq

import (
	"sync"
	"time"
)

// Queue hands values of type E to deliver, in order, from one goroutine.
// The zero value is not usable; a nil *Queue accepts and drops everything.
type Queue[E any] struct {
	deliver func(e E, dropped uint64)
	ch      chan E

	mu      sync.Mutex // guards closed, dropped and sends into ch
	closed  bool
	dropped uint64
	done    chan struct{}
}

// New starts a queue holding up to size values (at least 1) for deliver,
// which gets each value and how many were dropped just before it. A nil
// deliver returns a nil queue: nothing is delivered, nothing runs.
func New[E any](size int, deliver func(e E, dropped uint64)) *Queue[E] {
	if deliver == nil {
		return nil
	}
	q := &Queue[E]{deliver: deliver, ch: make(chan E, max(size, 1)), done: make(chan struct{})}
	go q.run()
	return q
}

// Push queues e without blocking; it is dropped (and counted) when the
// queue is full, and ignored after Close.
func (q *Queue[E]) Push(e E) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.ch <- e:
	default:
		q.dropped++
	}
}

// Enabled reports whether pushed values go anywhere, so that callers can
// skip building them.
func (q *Queue[E]) Enabled() bool { return q != nil }

func (q *Queue[E]) run() {
	defer close(q.done)
	for e := range q.ch {
		q.mu.Lock()
		n := q.dropped
		q.dropped = 0
		q.mu.Unlock()
		q.deliver(e, n)
	}
}

// Close stops taking values and waits up to wait for the queued ones to be
// delivered. It reports whether they all were; the goroutine ends when the
// observer returns from the value it is handling.
func (q *Queue[E]) Close(wait time.Duration) bool {
	if q == nil {
		return true
	}
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-q.done:
		return true
	case <-t.C:
		return false
	}
}
