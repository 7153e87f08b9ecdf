package session

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Kind is what a program does about an error from this module: see
// [Classify].
type Kind int

// The kinds [Classify] returns.
const (
	// KindNone: no error.
	KindNone Kind = iota
	// KindNotLoggedIn: there is no session; a person must log in
	// ([ErrNotLoggedIn]).
	KindNotLoggedIn
	// KindSessionEnded: the session was rejected or expired and is gone,
	// and re-login (if configured) failed; a person must log in again
	// ([ErrSessionExpired]).
	KindSessionEnded
	// KindRateLimited: the exchange asked the caller to slow down
	// ([traderapi.ErrRateLimited]); the [*traderapi.APIError]'s
	// RetryAfter says how long it asked for.
	KindRateLimited
	// KindUnavailable: the exchange could not be reached, answered 5xx or
	// with something unreadable, or the keychain did not answer; retry
	// later, the session is intact.
	KindUnavailable
	// KindRejected: the credentials were refused: a wrong password or
	// username, a missing or wrong one-time code ([traderapi.ErrOTPRequired],
	// [traderapi.ErrUnauthorized]). Retrying the same ones will not help.
	KindRejected
	// KindForbidden: authenticated but not allowed
	// ([traderapi.ErrForbidden]).
	KindForbidden
	// KindCanceled: the caller's context was canceled or its deadline
	// passed.
	KindCanceled
	// KindConfig: a configuration mistake ([ErrConfig],
	// [traderapi.ErrInsecureURL], the exchange's 421 for a wrong Host);
	// fix the settings, retrying will not help.
	KindConfig
	// KindClosed: the manager was closed ([ErrClosed]).
	KindClosed
	// KindOther: anything else (bad input, a store error); see the error
	// itself.
	KindOther
)

var kindNames = [...]string{
	KindNone: "none", KindNotLoggedIn: "not logged in", KindSessionEnded: "session ended",
	KindRateLimited: "rate limited", KindUnavailable: "unavailable", KindRejected: "rejected",
	KindForbidden: "forbidden", KindCanceled: "canceled", KindConfig: "config", KindClosed: "closed",
	KindOther: "other",
}

// String names the kind: "session ended", "rate limited", ...
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Classify returns the one [Kind] of err, for a program that branches on
// what to do rather than on each sentinel. An error can match several
// sentinels (a session that ended because the exchange answered 401 wraps
// both); the first of these checks that matches decides:
//
//  1. nil: [KindNone]
//  2. [ErrSessionExpired]: [KindSessionEnded]
//  3. [ErrNotLoggedIn]: [KindNotLoggedIn]
//  4. [ErrClosed]: [KindClosed]
//  5. [ErrConfig], [traderapi.ErrInsecureURL], a 421: [KindConfig]
//  6. [traderapi.ErrRateLimited]: [KindRateLimited]
//  7. a refresh the manager retries on its own,
//     [traderapi.ErrUnreachable], [traderapi.ErrUnavailable],
//     [traderapi.ErrMalformedResponse], [keystore.ErrUnavailable], and any
//     answer that is not the exchange's own (a WAF's or a load balancer's
//     HTML 403 or 404): [KindUnavailable] (before 10, so an HTTP client
//     timeout, which also matches [context.DeadlineExceeded], is "retry
//     later")
//  8. [traderapi.ErrOTPRequired], [traderapi.ErrUnauthorized]:
//     [KindRejected]
//  9. [traderapi.ErrForbidden]: [KindForbidden]
//  10. [context.Canceled], [context.DeadlineExceeded]: [KindCanceled]
//  11. anything else: [KindOther]
//
// Classify only reads err; it is safe for concurrent use.
func Classify(err error) Kind {
	switch {
	case err == nil:
		return KindNone
	case errors.Is(err, ErrSessionExpired):
		return KindSessionEnded
	case errors.Is(err, ErrNotLoggedIn):
		return KindNotLoggedIn
	case errors.Is(err, ErrClosed):
		return KindClosed
	case isConfig(err):
		return KindConfig
	case errors.Is(err, traderapi.ErrRateLimited):
		return KindRateLimited
	case isUnavailable(err):
		return KindUnavailable
	case errors.Is(err, traderapi.ErrOTPRequired), errors.Is(err, traderapi.ErrUnauthorized):
		return KindRejected
	case errors.Is(err, traderapi.ErrForbidden):
		return KindForbidden
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	}
	return KindOther
}

func isUnavailable(err error) bool {
	if _, retrying := errors.AsType[*retryError](err); retrying {
		return true
	}
	ae, api := errors.AsType[*traderapi.APIError](err)
	return errors.Is(err, traderapi.ErrUnreachable) || errors.Is(err, traderapi.ErrUnavailable) ||
		errors.Is(err, traderapi.ErrMalformedResponse) || errors.Is(err, keystore.ErrUnavailable) ||
		api && !fromExchange(ae)
}

// isConfig reports a configuration mistake.
func isConfig(err error) bool {
	ae, api := errors.AsType[*traderapi.APIError](err)
	return errors.Is(err, ErrConfig) || errors.Is(err, traderapi.ErrInsecureURL) ||
		api && ae.StatusCode == http.StatusMisdirectedRequest
}

// fromExchange reports whether an error answer is the exchange's own: its
// JSON error body, not a page from something in front of it.
func fromExchange(ae *traderapi.APIError) bool {
	return ae.BodyExcerpt == "" && (ae.Code != 0 || ae.Message != "" || ae.ErrorCode != "")
}
