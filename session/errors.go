package session

import (
	"errors"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Errors callers branch on with [errors.Is].
var (
	// ErrNotLoggedIn: there is no session for this environment and user,
	// in memory or in the store. Log in first.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrSessionExpired: the refresh token was rejected or has expired; the
	// stored session has been removed. Log in again.
	ErrSessionExpired = errors.New("session expired")
	// ErrOTPRequired: the account has MFA on and login needs a one-time
	// password. It is the same value as [traderapi.ErrOTPRequired].
	ErrOTPRequired = traderapi.ErrOTPRequired
	// ErrNotRevoked: logout removed the local session but the server did
	// not confirm that it revoked the tokens (it could not be reached, or
	// its answer was lost).
	ErrNotRevoked = errors.New("the server-side revoke could not be confirmed")
	// ErrNotStored: the session works in memory but could not be saved to
	// the store (the keychain is unavailable, say); the wrapped error says why.
	ErrNotStored = errors.New("the session could not be stored")
)

// isTransient reports whether a refresh failure is worth retrying: the
// exchange was unreachable, unavailable, rate limiting, or answered with
// something unreadable (a proxy's error page).
func isTransient(err error) bool {
	return errors.Is(err, traderapi.ErrUnreachable) || errors.Is(err, traderapi.ErrUnavailable) ||
		errors.Is(err, traderapi.ErrRateLimited) || errors.Is(err, traderapi.ErrMalformedResponse)
}

// isRejected reports whether the exchange refused the refresh token itself.
func isRejected(err error) bool {
	var ae *traderapi.APIError
	if !errors.As(err, &ae) {
		return false
	}
	// 401 is the documented answer; 400/403/404 on a refresh token mean the
	// same thing in practice (unknown, revoked or malformed token).
	switch ae.StatusCode {
	case 400, 401, 403, 404:
		return true
	}
	return false
}
