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
// measured, and whether it was measured.
func (m *Manager) clockOffset() (time.Duration, bool) {
	return time.Duration(m.offset.Load()), m.measured.Load()
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
	m.offset.Store(int64(at.Sub(mid.Round(0))))
	m.measured.Store(true)
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
	off, _ := m.clockOffset()
	return wall(t.Add(off))
}

// fromExchange converts a stored time of the exchange's clock to this
// one's.
func (m *Manager) fromExchange(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	off, _ := m.clockOffset()
	return wall(t.Add(-off))
}
