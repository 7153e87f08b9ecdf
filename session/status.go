package session

import (
	"context"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Status describes the session without secrets.
type Status struct {
	Environment string
	Username    string
	// LoggedIn is true while the manager holds a valid access token.
	LoggedIn bool
	// AccessExpiry and RefreshExpiry are wall times (zero: unknown).
	AccessExpiry, RefreshExpiry time.Time
	// Stale is true once the access token is within the margin of expiry.
	Stale bool
	// MFA is true when the session began with a login that used an OTP.
	MFA bool
	// Generation counts the session's states (see keystore.Record).
	Generation uint64
	// Retrying is the last refresh's error while refreshes keep failing
	// and the session goes on (nil: the last refresh succeeded). A health
	// check reports it as degraded, not dead.
	Retrying error
	// Failures is how many refreshes in a row have failed.
	Failures int
	// ClockOffset is how far the exchange's clock is ahead of this one's
	// (negative: behind), as measured at the last login or refresh;
	// ClockMeasured says whether it was. Stored expiries are converted by
	// it, so machines whose clocks differ share a session safely.
	ClockOffset   time.Duration
	ClockMeasured bool
	// Ended is why the session ended (nil: it has not): it matches
	// [ErrSessionExpired], [ErrNotLoggedIn] (logged out) or [ErrClosed].
	Ended error
}

// Status reports the session's state. It does not touch the network.
func (m *Manager) Status() Status {
	st := Status{Environment: m.cfg.Environment, Username: m.username()}
	st.ClockOffset, st.ClockMeasured = m.clockOffset()
	e := m.cache.Current()
	if e == nil {
		return st
	}
	if e.Err != nil {
		st.Ended = e.Err
		return st
	}
	st.LoggedIn = !e.Expired()
	st.AccessExpiry = e.Expiry
	st.RefreshExpiry = e.Data.refreshExpiry
	st.Stale = e.Stale()
	st.MFA = e.Data.mfa
	st.Generation = e.Data.gen
	st.Failures, st.Retrying = m.cache.Failures()
	return st
}

// TokenInfo is an access token with its expiry, taken from one state.
type TokenInfo struct {
	Token traderapi.Secret
	// Expiry is when the token expires, by the wall clock.
	Expiry time.Time
}

// FreshToken is [Manager.TokenInfo] for a caller that will hold the token
// for a while, such as a one-shot process: a stale token (within the margin
// of expiry) is refreshed first and the new one returned, or a fresher one
// another process stored is taken up. If the refresh fails, or waits for
// the store's lock that another process holds (more than 100 ms), the
// stale token is returned while it is still valid: a lock never stalls a
// caller that holds a valid token. A process that exits right after
// [Manager.Token] would otherwise start a background refresh and cancel it
// at Close.
func (m *Manager) FreshToken(ctx context.Context) (TokenInfo, error) {
	e, err := m.cache.Fresh(ctx)
	if err != nil {
		return TokenInfo{}, err
	}
	return TokenInfo{Token: e.Token, Expiry: e.Expiry}, nil
}

// TokenInfo is [Manager.Token] with the token's expiry, both from the same
// state, for cache-aware callers and exec-credential style helpers.
func (m *Manager) TokenInfo(ctx context.Context) (TokenInfo, error) {
	e, err := m.cache.Entry(ctx)
	if err != nil {
		return TokenInfo{}, err
	}
	if e.Err != nil {
		return TokenInfo{}, e.Err
	}
	return TokenInfo{Token: e.Token, Expiry: e.Expiry}, nil
}
