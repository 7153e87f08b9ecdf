package session

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Errors callers branch on with [errors.Is].
var (
	// ErrNotLoggedIn: there is no session for this environment and user,
	// in memory or in the store. Log in first. A session that was logged
	// out (here or in another process) matches [ErrLoggedOut] too.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrLoggedOut: the session was logged out, by this manager or by
	// another process sharing the store; it also matches
	// [ErrNotLoggedIn]. A session never logged in does not match it.
	ErrLoggedOut error = loggedOut{}
	// ErrSessionExpired: the exchange rejected the refresh token (or it
	// expired) and no relogin succeeded; the stored session has been
	// removed. A new login is needed. The error names the session and
	// what the exchange answered.
	ErrSessionExpired = errors.New("session expired")
	// ErrClosed: [Manager.Close] was called.
	ErrClosed = tokencache.ErrClosed
	// ErrNotRevoked: logout removed the local session but the server did
	// not confirm that it revoked the tokens (it could not be reached, or
	// its answer was lost).
	ErrNotRevoked = errors.New("the server-side revoke could not be confirmed")
	// ErrNotStored: the exchange did what was asked but the store was not
	// updated (the keychain is unavailable, say): a new session or token
	// works in memory but was not saved, or a logged-out session was not
	// removed. The wrapped error says why.
	ErrNotStored = errors.New("the keystore was not updated")
	// ErrConfig: a configuration mistake that retrying will not fix: an
	// unknown environment or keystore, incomplete Redis settings, a base
	// URL without TLS, a Host the exchange does not serve (its 421). The
	// settings package's errors match it.
	ErrConfig = errors.New("configuration error")
)

// retryError is a refresh that failed and that the manager will try again
// on its own: the exchange was unreachable, unavailable, rate limiting, or
// something in front of it answered instead (an HTML page). [Classify]
// calls it unavailable (rate limited for a 429). Meanwhile a valid token is
// still served; a caller with none gets this error until a refresh
// succeeds.
type retryError struct {
	// Err is the last failure.
	Err error
	// Failures is how many refreshes in a row have failed.
	Failures int
	// NextAttempt is when the next refresh may start.
	NextAttempt time.Time
}

// Error says how many refreshes failed, when the next starts, and why.
func (e *retryError) Error() string {
	return fmt.Sprintf("the last %d refresh(es) failed (next attempt at %s): %v",
		e.Failures, e.NextAttempt.Format(time.RFC3339), e.Err)
}

// Unwrap returns the last failure.
func (e *retryError) Unwrap() error { return e.Err }

// isTransient reports whether a refresh failure is worth retrying: the
// exchange was unreachable, unavailable, rate limiting, or answered with
// something unreadable (a proxy's error page).
func isTransient(err error) bool {
	return errors.Is(err, traderapi.ErrUnreachable) || errors.Is(err, traderapi.ErrUnavailable) ||
		errors.Is(err, traderapi.ErrRateLimited) || errors.Is(err, traderapi.ErrMalformedResponse)
}

// isRejected is the one predicate for "the exchange refused this": a
// refresh token (refresh), the credentials (a relogin's login, including a
// missing or used one-time code) or the tokens of a revoke (logout). It
// is a 401 with the exchange's JSON error body. A 403 or 404, an HTML page
// or anything else from something in front of the exchange is not a
// rejection: the session is kept and the call tried again later, and a
// revoke it blocked is not confirmed.
func isRejected(err error) bool {
	ae, api := errors.AsType[*traderapi.APIError](err)
	return api && ae.StatusCode == 401 && fromExchange(ae)
}

// backoff is the wait before retry n: full jitter over base·2ⁿ⁻¹ capped at
// ceiling, and never less than the server's Retry-After.
func backoff(base, ceiling time.Duration, n int, err error) time.Duration {
	d := min(base<<min(n-1, 30), ceiling)
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	var ae *traderapi.APIError
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	return d
}

// loggedOut is ErrLoggedOut: it matches ErrNotLoggedIn too.
type loggedOut struct{}

func (loggedOut) Error() string        { return "logged out" }
func (loggedOut) Is(target error) bool { return target == ErrNotLoggedIn }
