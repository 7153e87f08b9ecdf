package session

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pmx-login/pmx-login/traderapi"
)

// state is one access token and what it was issued with. Everything but the
// two flags is immutable once published; the flags only go from false to
// true, set by timers (or by a 401 for that exact token).
type state struct {
	username string
	access   traderapi.Secret
	refresh  traderapi.Secret

	// Local times (with monotonic readings) at which the access token goes
	// stale and expires, and the refresh token expires (zero: unknown).
	staleAt, expiresAt, refreshExpiresAt time.Time
	// lifetime is the access token's lifetime as the server issued it.
	lifetime time.Duration
	// mfa records whether the login that began the session used an OTP.
	mfa bool

	stale   atomic.Bool // past staleAt: refresh now, but still usable
	expired atomic.Bool // past expiresAt, or rejected by the server
	timers  [2]*time.Timer

	// err, when set, ends the session: Token returns it.
	err error
}

// String keeps the tokens out of any output.
func (s *state) String() string {
	return fmt.Sprintf("session state for %q (access %s, expires %s)", s.username, s.access, s.expiresAt.Format(time.RFC3339))
}

// issued describes a token the exchange just issued, before it is scheduled.
type issued struct {
	token             traderapi.Secret
	issueAt, expireAt time.Time // server's times, from the response body
	received          time.Time // local, monotonic
}

// lifetime returns how long the token lives: the response's expiration
// minus issue time, else the JWT's exp minus iat. Never the local clock
// against a server time, so clock skew cannot shorten or stretch it.
func (t issued) lifetime() (time.Duration, error) {
	if !t.issueAt.IsZero() && t.expireAt.After(t.issueAt) {
		return t.expireAt.Sub(t.issueAt), nil
	}
	iat, exp, err := jwtTimes(t.token)
	if err != nil {
		return 0, err
	}
	if !exp.After(iat) {
		return 0, errors.New("the token's exp is not after its iat")
	}
	return exp.Sub(iat), nil
}

// jwtTimes decodes iat and exp from a JWT without verifying it.
func jwtTimes(tok traderapi.Secret) (iat, exp time.Time, err error) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.Reveal(), &claims); err != nil {
		return iat, exp, errors.New("the response gives no issue and expiration times and the token is not a JWT with iat and exp")
	}
	if claims.IssuedAt == nil || claims.ExpiresAt == nil {
		return iat, exp, errors.New("the response gives no issue and expiration times and the token's JWT lacks iat or exp")
	}
	return claims.IssuedAt.Time, claims.ExpiresAt.Time, nil
}

// newState schedules an access token: stale at received + lifetime −
// margin, expired at received + lifetime, both on the monotonic clock.
func newState(username string, access issued, refresh traderapi.Secret, refreshExpiresAt time.Time, margin time.Duration) (*state, error) {
	life, err := access.lifetime()
	if err != nil {
		return nil, fmt.Errorf("cannot tell when the access token expires: %w: %w", err, traderapi.ErrMalformedResponse)
	}
	margin = min(margin, life/2)
	return &state{
		username:         username,
		access:           access.token,
		refresh:          refresh,
		lifetime:         life,
		staleAt:          access.received.Add(life - margin),
		expiresAt:        access.received.Add(life),
		refreshExpiresAt: refreshExpiresAt,
	}, nil
}

// refreshExpiry returns the local time at which a refresh token expires,
// from its lifetime (0: unknown).
func refreshExpiry(tok traderapi.Secret, issueAt, expireAt, received time.Time) time.Time {
	life, err := issued{token: tok, issueAt: issueAt, expireAt: expireAt}.lifetime()
	if err != nil {
		return time.Time{}
	}
	return received.Add(life)
}

// arm starts the timers that flip the flags; onStale runs when the token
// goes stale (the background refresher's cue).
func (s *state) arm(now time.Time, onStale func()) {
	if d := s.staleAt.Sub(now); d > 0 {
		s.timers[0] = time.AfterFunc(d, func() { s.stale.Store(true); onStale() })
	} else {
		s.stale.Store(true)
		go onStale()
	}
	if d := s.expiresAt.Sub(now); d > 0 {
		s.timers[1] = time.AfterFunc(d, func() { s.stale.Store(true); s.expired.Store(true) })
	} else {
		s.stale.Store(true)
		s.expired.Store(true)
	}
}

// disarm stops the timers of a state that is no longer current.
func (s *state) disarm() {
	for _, t := range s.timers {
		if t != nil {
			t.Stop()
		}
	}
}

// deadState ends a session: Token returns err from it.
func deadState(username string, err error) *state {
	s := &state{username: username, err: err}
	s.stale.Store(true)
	s.expired.Store(true)
	return s
}
