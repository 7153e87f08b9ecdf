package cli

import (
	"context"
	"errors"
	"net/http"

	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi"
)

// isvError marks a failure of an isv command, so that [message] gives the
// ISV hint (the key, --auth-url) rather than the trader one (the password,
// --base-url). It changes neither the text nor what the error matches.
type isvError struct{ err error }

func (e *isvError) Error() string { return e.err.Error() }
func (e *isvError) Unwrap() error { return e.err }

// isvFail marks err as an isv command's failure; usage errors keep their
// own hint ("run ... --help").
func isvFail(err error) error {
	var ue *usageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	return &isvError{err: err}
}

// isvRejected reports the token service refusing the client's credentials:
// invalid_client (the key), invalid_client_assertion (the claims) and the
// other OAuth refusals with a 400, 401 or 403 (access_denied for an API
// audience the client is not enabled for). Exit 4, as a rejected password.
func isvRejected(err error) bool {
	if errors.Is(err, isv.ErrInvalidClient) || errors.Is(err, isv.ErrInvalidClientAssertion) {
		return true
	}
	te, ok := errors.AsType[*isv.TokenError](err)
	if !ok || te.API == nil {
		return false
	}
	switch te.API.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	return false
}

// isvHint returns the hint for a failure of an isv command, and false for
// any other error.
func isvHint(err error) (string, bool) {
	if _, ok := errors.AsType[*isvError](err); !ok {
		return "", false
	}
	te, _ := errors.AsType[*isv.TokenError](err)
	switch {
	case errors.Is(err, isv.ErrInvalidClient):
		return "the private key does not match the public key registered at onboarding: " +
			"check --key, --client-id and --env (each environment has its own)", true
	case errors.Is(err, isv.ErrInvalidClientAssertion):
		return "the token service refused the assertion's claims for the rule named above: check the clock (NTP) and " +
			"--auth-url (the assertion's aud is --auth-url + /oauth/token)", true
	case te != nil && (te.Code == "access_denied" || te.Code == "unauthorized_client"):
		return "the client is not enabled for this API audience: check --audience (" + envAudience + ") and --env", true
	case errors.Is(err, isv.ErrBadKey):
		return "", true // the key's error says how to convert it
	case errors.Is(err, traderapi.ErrRateLimited):
		return "wait a little and try again", true
	case errors.Is(err, context.DeadlineExceeded):
		return "the token service did not answer in time: check --auth-url and the network, or give a longer --timeout", true
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, traderapi.ErrUnavailable),
		errors.Is(err, traderapi.ErrMalformedResponse), misdirected(err):
		return "check --auth-url (" + envAuthURL + ": the token service's scheme and host) and your network", true
	}
	return "", true
}
