package tokencache

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Entry is one token and what it came with. Everything but the two flags is
// immutable once published; the flags only go from false to true.
type Entry[D any] struct {
	// Token is the access token ("" for an ended entry).
	Token traderapi.Secret
	// Data is what the owner keeps with the token.
	Data D
	// Err, when set, ends the session: Token returns it.
	Err error
	// Expiry is when the token expires, by the wall clock (zero: unknown).
	Expiry time.Time

	staleAt, expiresAt time.Time // readings of the cache's clock (monotonic when it has one)
	staleWall          time.Time // the same as wall times, re-checked after a clock jump
	stale, expired     atomic.Bool
	timers             [2]Stopper
}

// String keeps the token out of any output.
func (e *Entry[D]) String() string {
	if e.Err != nil {
		return fmt.Sprintf("tokencache.Entry{ended: %v}", e.Err)
	}
	return fmt.Sprintf("tokencache.Entry{token %s, expires %s}", e.Token, e.Expiry.Format(time.RFC3339))
}

// Stale reports whether the token is within the margin of expiry.
func (e *Entry[D]) Stale() bool { return e.stale.Load() }

// Expired reports whether the token has expired or was rejected.
func (e *Entry[D]) Expired() bool { return e.expired.Load() }

// Usable reports whether Token may be handed out: not ended, not expired.
func (e *Entry[D]) Usable() bool { return e != nil && e.Err == nil && !e.expired.Load() }

// Fresh reports whether the entry is usable and not stale.
func (e *Entry[D]) Fresh() bool { return e.Usable() && !e.stale.Load() }

// DueAt reports whether the token is stale by its schedule at now, before
// its timers run (for an entry not yet published).
func (e *Entry[D]) DueAt(now time.Time) bool { return e.Err != nil || !now.Before(e.staleAt) }

// Schedule describes when a token goes stale and expires.
type Schedule struct {
	// From is when the token's lifetime began by the cache's clock: when
	// the request that got it was sent (its monotonic reading is used).
	From time.Time
	// Lifetime is the token's lifetime as issued.
	Lifetime time.Duration
}

// NewEntry returns an entry for tok that goes stale at From + Lifetime −
// margin and expires at From + Lifetime. The margin is the cache's, capped
// at half the lifetime, shortened by up to the jitter fraction so that
// processes sharing a session do not refresh in lock-step.
func (c *Cache[D]) NewEntry(tok traderapi.Secret, data D, s Schedule) *Entry[D] {
	margin := min(c.cfg.Margin, s.Lifetime/2)
	if c.cfg.Jitter > 0 && margin > 0 {
		margin -= time.Duration(rand.Float64() * c.cfg.Jitter * float64(margin))
	}
	e := &Entry[D]{Token: tok, Data: data}
	e.expiresAt = s.From.Add(s.Lifetime)
	e.staleAt = e.expiresAt.Add(-margin)
	e.Expiry = e.expiresAt.Round(0).UTC()
	e.staleWall = e.staleAt.Round(0)
	return e
}

// NewEnded returns an entry that ends the session with err.
func NewEnded[D any](data D, err error) *Entry[D] {
	e := &Entry[D]{Data: data, Err: err}
	e.stale.Store(true)
	e.expired.Store(true)
	return e
}

// Stopper is a timer that can be stopped.
type Stopper interface{ Stop() bool }

// arm starts the timers that flip the flags, measured from now; cue runs
// when the token goes stale.
func (e *Entry[D]) arm(now time.Time, after func(time.Duration, func()) Stopper, cue func()) {
	if e.Err != nil || e.expired.Load() {
		return
	}
	if d := e.staleAt.Sub(now); d > 0 {
		e.timers[0] = after(d, func() { e.stale.Store(true); cue() })
	} else {
		e.stale.Store(true)
		cue()
	}
	if d := e.expiresAt.Sub(now); d > 0 {
		e.timers[1] = after(d, e.expire)
	} else {
		e.expire()
	}
}

func (e *Entry[D]) expire() {
	e.stale.Store(true)
	e.expired.Store(true)
}

// disarm stops the timers of an entry that is no longer current.
func (e *Entry[D]) disarm() {
	for _, t := range e.timers {
		if t != nil {
			t.Stop()
		}
	}
}

// recheck sets the flags from the wall clock: after a suspend, monotonic
// timers fire late, so a token may be past its expiry by the wall clock.
func (e *Entry[D]) recheck(wall time.Time) bool {
	if e.Err != nil || e.Expiry.IsZero() {
		return false
	}
	changed := false
	if !wall.Before(e.staleWall) && !e.stale.Load() {
		e.stale.Store(true)
		changed = true
	}
	if !wall.Before(e.Expiry) && !e.expired.Load() {
		e.expire()
		changed = true
	}
	return changed
}
