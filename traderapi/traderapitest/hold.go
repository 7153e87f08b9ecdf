package traderapitest

import (
	"net/http"
	"sync"
)

// Hold pauses one request to an endpoint after the exchange has applied it
// (tokens issued or revoked, counters moved) and before its answer is
// written, so that a test can order other events against it. Create it
// with [Exchange.Hold]; it is one-shot.
type Hold struct {
	arrived, release chan struct{}
	arriveOnce       sync.Once
	releaseOnce      sync.Once
}

// Arrived is closed when the held request has been applied and waits for
// [Hold.Release].
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Release lets the held request's answer be written. It may be called
// before the request arrives (it then passes at once) and more than once.
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// wait marks the request arrived and blocks until the hold is released or
// the client goes away; false means the client went away and nothing is to
// be written. A nil hold does not wait.
func (h *Hold) wait(r *http.Request) bool {
	if h == nil {
		return true
	}
	h.arriveOnce.Do(func() { close(h.arrived) })
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Hold arms a hold on the next request for path (such as
// traderapi.PathRefresh, or [AnyPath] for the next request to a path with
// no hold of its own). Holds on one path apply to its requests in the order
// they were armed. A faulted request is held too, before its fault's
// answer. [Server.Close] releases every hold, so a test that forgets one
// does not hang.
func (e *Exchange) Hold(path string) *Hold {
	h := &Hold{arrived: make(chan struct{}), release: make(chan struct{})}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holds[path] = append(e.holds[path], h)
	e.allHolds = append(e.allHolds, h)
	return h
}

// ReleaseHolds releases every hold, whether its request arrived or not.
func (e *Exchange) ReleaseHolds() {
	e.mu.Lock()
	all := e.allHolds
	e.allHolds = nil
	clear(e.holds)
	e.mu.Unlock()
	for _, h := range all {
		h.Release()
	}
}

// takeHold returns the next hold armed for path (or [AnyPath]), removing
// it; e.mu must be held.
func (e *Exchange) takeHold(path string) *Hold {
	for _, key := range []string{path, AnyPath} {
		if q := e.holds[key]; len(q) > 0 {
			h := q[0]
			if e.holds[key] = q[1:]; len(q) == 1 {
				delete(e.holds, key)
			}
			return h
		}
	}
	return nil
}
