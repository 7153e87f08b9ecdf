package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// sess is what the manager keeps with each access token.
type sess struct {
	username string
	refresh  traderapi.Secret
	// refreshExpiry is when the refresh token expires, wall clock (zero:
	// unknown).
	refreshExpiry time.Time
	// lifetime is the access token's lifetime as the server issued it.
	lifetime time.Duration
	// mfa records whether the login that began the session used an OTP.
	mfa bool
	// gen is the state's generation; stored is the record the store holds
	// for it (nil: not stored), the base of the next compare-and-set.
	gen    uint64
	stored *keystore.Record
	// The state's intent, which decides what its write may replace:
	// adopted marks a state read from the store: committing it writes
	// nothing. login marks a new login's state: a user's login replaces
	// whatever is stored; with relogin too (an automatic relogin) it only
	// continues the session it began from, never over a logout or a newer
	// login (see [mayContinue]). Neither: a refresh, which continues the
	// session it read. final marks the state a local Logout left: no stored
	// record is adopted after it.
	adopted, login, relogin, final bool
}

// entry is one published state.
type entry = tokencache.Entry[sess]

// issued describes a token the exchange just issued.
type issued struct {
	token             traderapi.Secret
	issueAt, expireAt time.Time // server's times, from the response body
	sent              time.Time // local clock when the request was sent
}

// lifetime returns how long the token lives: the response's expiration
// minus issue time, else the JWT's exp minus iat. Never the local clock
// against a server time, so clock skew cannot shorten or stretch it.
func (t issued) lifetime() (time.Duration, error) {
	if !t.issueAt.IsZero() && t.expireAt.After(t.issueAt) {
		return t.expireAt.Sub(t.issueAt), nil
	}
	return jwtLifetime(t.token)
}

// jwtLifetime decodes iat and exp from a JWT without verifying it.
func jwtLifetime(tok traderapi.Secret) (time.Duration, error) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.Reveal(), &claims); err != nil {
		return 0, errors.New("the response gives no issue and expiration times and the token is not a JWT with iat and exp")
	}
	if claims.IssuedAt == nil || claims.ExpiresAt == nil {
		return 0, errors.New("the response gives no issue and expiration times and the token's JWT lacks iat or exp")
	}
	if !claims.ExpiresAt.After(claims.IssuedAt.Time) {
		return 0, errors.New("the token's exp is not after its iat")
	}
	return claims.ExpiresAt.Sub(claims.IssuedAt.Time), nil
}

// newEntry schedules an issued access token from when its request was sent.
func (m *Manager) newEntry(d sess, access issued) (*entry, error) {
	life, err := access.lifetime()
	if err != nil {
		return nil, fmt.Errorf("cannot tell when the access token expires: %w: %w", err, traderapi.ErrMalformedResponse)
	}
	d.lifetime = life
	m.measure(access, m.cfg.Now())
	return m.cache.NewEntry(access.token, d, tokencache.Schedule{From: access.sent, Lifetime: life}), nil
}

// refreshExpiry returns the wall time at which a refresh token expires,
// from its lifetime (zero: unknown).
func refreshExpiry(tok traderapi.Secret, issueAt, expireAt, sent time.Time) time.Time {
	life, err := issued{token: tok, issueAt: issueAt, expireAt: expireAt}.lifetime()
	if err != nil {
		return time.Time{}
	}
	return wall(sent.Add(life))
}

// fromRecord rebuilds a state from a stored record, with no network call.
// The stored expiries are in the exchange's time, converted to this clock
// by its measured offset; the stale point is the one the storing process
// had: the stored lifetime (else the JWT's exp − iat) less the margin. A
// missing or expired access token makes an expired state.
func (m *Manager) fromRecord(rec *keystore.Record) *entry {
	d := sess{
		username: rec.Username, refresh: rec.RefreshToken, refreshExpiry: m.fromExchange(rec.RefreshExpiry),
		lifetime: rec.AccessLifetime, mfa: rec.MFA, gen: rec.Generation, stored: rec, adopted: true,
	}
	if isTombstone(rec) {
		return m.ended(d, m.endedFromTombstone(rec))
	}
	if d.lifetime <= 0 && rec.AccessToken != "" {
		d.lifetime, _ = jwtLifetime(rec.AccessToken)
	}
	now, exp := m.cfg.Now(), m.fromExchange(rec.AccessExpiry)
	if rec.AccessToken == "" || exp.IsZero() || d.lifetime <= 0 || !now.Before(exp) {
		e := m.cache.NewEntry("", d, tokencache.Schedule{From: now})
		return e // expires at once when published
	}
	from := now.Add(exp.Sub(now) - d.lifetime)
	return m.cache.NewEntry(rec.AccessToken, d, tokencache.Schedule{From: from, Lifetime: d.lifetime})
}

// record is what the store keeps for e, its expiries in the exchange's
// time.
func (m *Manager) record(e *entry) *keystore.Record {
	return &keystore.Record{
		Environment:    m.cfg.Environment,
		Username:       e.Data.username,
		RefreshToken:   e.Data.refresh,
		RefreshExpiry:  m.toExchange(e.Data.refreshExpiry),
		AccessToken:    e.Token,
		AccessExpiry:   m.toExchange(e.Expiry),
		AccessLifetime: e.Data.lifetime,
		MFA:            e.Data.mfa,
		Generation:     e.Data.gen,
		SavedAt:        wall(m.cfg.Now()),
	}
}

// wall drops the monotonic reading for storage and display.
func wall(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Round(0).UTC()
}

// loginGeneration is the generation of a new login: above the stored one
// and at least the clock in nanoseconds, so that a new login outranks any
// state of an earlier session even after that session's record was removed.
func loginGeneration(now time.Time, stored *keystore.Record) uint64 {
	g := uint64(max(now.UnixNano(), 1))
	if stored != nil && stored.Generation >= g {
		g = stored.Generation + 1
	}
	return g
}
