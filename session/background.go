package session

import (
	"context"
	"sync"
	"time"
)

// background is the state of the background refresher.
type background struct {
	mu      sync.Mutex
	closed  bool
	running <-chan struct{} // the running loop's ctx.Done (nil: none)
	exited  chan struct{}   // closed when the running loop returns
	quit    chan struct{}   // closed by close
	staleCh chan struct{}
	// switched is cued when a login or resume changes the session (its
	// user, maybe): the follower re-reads and follows the user held now.
	switched chan struct{}
}

func newBackground() background {
	return background{quit: make(chan struct{}), staleCh: make(chan struct{}, 1), switched: make(chan struct{}, 1)}
}

// switchedUser tells the follower the session was replaced; it never
// blocks.
func (b *background) switchedUser() {
	select {
	case b.switched <- struct{}{}:
	default:
	}
}

// cue tells the loop the token went stale; it never blocks.
func (b *background) cue() {
	select {
	case b.staleCh <- struct{}{}:
	default:
	}
}

// Start starts a background refresher and returns at once; the
// refresher runs until ctx ends or [Manager.Close] is called (Close waits
// for it): each access token is refreshed as soon as it goes stale (after a
// failed refresh, once the back-off allows), so that a bot's requests never
// wait on a refresh; it also notices a jump of the wall clock (a laptop's
// sleep) and re-checks the token. Calling Start while a refresher runs
// does nothing; Start after the ctx of an earlier Start ended starts a new
// one. After Close it returns [ErrClosed].
func (m *Manager) Start(ctx context.Context) error {
	b := &m.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.running != nil {
		select {
		case <-b.running:
			<-b.exited // the earlier loop is returning
		default:
			return nil
		}
	}
	b.running, b.exited = ctx.Done(), make(chan struct{})
	go m.loop(ctx, b.exited, m.cfg.Now().Round(0), time.Now())
	return nil
}

// loop is the background refresher; wall and mono are the clocks' readings
// when Start was called.
func (m *Manager) loop(ctx context.Context, exited chan struct{}, wall, mono time.Time) {
	defer close(exited)
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); m.follow(fctx) }()
	defer func() { stop(); <-followed }()
	tick := time.NewTicker(m.cfg.ClockCheck)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.bg.quit:
			return
		case <-m.bg.staleCh:
		case <-retry.C:
		case <-tick.C:
			m.checkClock(&wall, &mono)
		}
		if wait := m.refreshStale(ctx); wait > 0 {
			retry.Reset(wait)
		}
	}
}

// refreshStale refreshes a stale token and waits for the outcome; it
// returns the back-off before the next attempt after a failure (0: none).
func (m *Manager) refreshStale(ctx context.Context) time.Duration {
	if e := m.cache.Current(); e == nil || e.Err != nil || !e.Stale() {
		return 0
	}
	_, _ = m.cache.Fresh(ctx) // runs a flight unless backing off
	if e := m.cache.Current(); e == nil || e.Err != nil || !e.Stale() {
		return 0
	}
	return m.cache.RetryIn()
}

// checkClock re-checks the token when the wall clock moved well beyond
// the monotonic clock since the last check.
func (m *Manager) checkClock(wall *time.Time, mono *time.Time) {
	w, n := m.cfg.Now().Round(0), time.Now()
	if w.Sub(*wall)-n.Sub(*mono) > max(m.cfg.ClockCheck, time.Second) {
		m.cfg.Logger.Info("the wall clock jumped (a suspend?): re-checking the token", "env", m.cfg.Environment)
		m.cache.Recheck()
	}
	*wall, *mono = w, n
}

// close stops the loop and waits at most wait for it.
func (b *background) close(wait time.Duration) {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
	}
	exited := b.exited
	b.mu.Unlock()
	if exited == nil {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
	}
}
