package cli

import (
	"context"
	"errors"
	"net/http"

	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi"
)

// isvError marks a failure of an isv command, so that [classify] gives the
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

// classifyISV gives the exit code and hint of an isv command's failure:
// the key, --auth-url and the audience rather than the password and
// --base-url.
func classifyISV(err error) (int, string) {
	te, _ := errors.AsType[*isv.TokenError](err)
	switch {
	case errors.Is(err, isv.ErrInvalidClient):
		return exitRejected, "the private key does not match the public key registered at onboarding: " +
			"check --key, --client-id and --env (each environment has its own)"
	case errors.Is(err, isv.ErrInvalidClientAssertion):
		return exitRejected, "the token service refused the assertion's claims for the rule named above: check the clock (NTP) and " +
			"--auth-url (the assertion's aud is --auth-url + /oauth/token)"
	case te != nil && (te.Code == "access_denied" || te.Code == "unauthorized_client"):
		return exitRejected, "the client is not enabled for this API audience: check --audience (" + envAudience + ") and --env"
	case errors.Is(err, isv.ErrBadKey):
		return exitUsage, "give --key an RSA private key in PEM (PKCS#8 or PKCS#1); `pmx-login isv keygen` makes one"
	case errors.Is(err, traderapi.ErrRateLimited):
		return exitUnreachable, "wait a little and try again"
	case errors.Is(err, context.DeadlineExceeded):
		return exitUnreachable, "the token service did not answer in time: check --auth-url and the network, or give a longer --timeout"
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, traderapi.ErrUnavailable),
		errors.Is(err, traderapi.ErrMalformedResponse), misdirected(err):
		return exitUnreachable, "check --auth-url (" + envAuthURL + ": the token service's scheme and host) and your network"
	case isvRejected(err):
		return exitRejected, ""
	}
	for _, c := range []func(error) (int, string, bool){classifyLocal, classifyStore} {
		if code, hint, ok := c(err); ok {
			return code, hint
		}
	}
	return exitFailure, ""
}
