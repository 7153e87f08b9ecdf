package session

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Machines sharing a store need not agree on the time. Stored expiries are
// in the exchange's time (what its tokens' claims say); each manager
// measures how far its own clock is from the exchange's at every login and
// refresh, and converts. A token it got itself is scheduled on its own
// monotonic clock from when the request was sent, which no offset touches.

// clockOffset is the exchange's clock minus this manager's, as last
// measured (by this manager, else by another process of this machine that
// keeps it in Config.Generations), and whether it was measured.
func (m *Manager) clockOffset() (time.Duration, bool) {
	if m.measured.Load() {
		return time.Duration(m.offset.Load()), true
	}
	if k, ok := m.cfg.Generations.(clockKeeper); ok {
		return k.ClockOffset(m.cfg.Environment)
	}
	return 0, false
}

// minOffset is the smallest offset converted: below it the clocks agree
// within what a whole-second iat can measure, and the margin covers it.
const minOffset = 2 * time.Second

// conversion is the offset stored times are converted by.
func (m *Manager) conversion() time.Duration {
	if off, _ := m.clockOffset(); off.Abs() >= minOffset {
		return off
	}
	return 0
}

// measure records the offset from a response: the exchange issued the
// token at issueAt (its clock), between sent and now (this clock). A
// token's whole-second iat is taken as the middle of its second.
func (m *Manager) measure(t issued, now time.Time) {
	at, ok := issueTime(t)
	if !ok {
		return
	}
	mid := t.sent.Add(now.Sub(t.sent) / 2)
	off := at.Sub(mid.Round(0))
	prev := time.Duration(m.offset.Swap(int64(off)))
	first := !m.measured.Swap(true)
	if k, ok := m.cfg.Generations.(clockKeeper); ok && (first || (off-prev).Abs() >= time.Second) {
		_ = k.SetClockOffset(m.cfg.Environment, off)
	}
}

// issueTime is when the exchange says it issued t: the response's issue
// time, else the JWT's iat (the middle of that second).
func issueTime(t issued) (time.Time, bool) {
	if !t.issueAt.IsZero() {
		return t.issueAt, true
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(t.token.Reveal(), &claims); err != nil || claims.IssuedAt == nil {
		return time.Time{}, false
	}
	return claims.IssuedAt.Add(500 * time.Millisecond), true
}

// toExchange converts a time of this clock to the exchange's, for storing.
func (m *Manager) toExchange(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return wall(t.Add(m.conversion()))
}

// fromExchange converts a stored time of the exchange's clock to this
// one's.
func (m *Manager) fromExchange(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return wall(t.Add(-m.conversion()))
}
