package isv

import (
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Sentinel errors to branch on with [errors.Is].
var (
	// ErrInvalidClient: the token endpoint could not verify the assertion's
	// signature with the public key registered for the client ID (the authentication troubleshooting guide:
	// wrong key file, key of another environment, wrong client ID).
	ErrInvalidClient = errors.New("invalid_client")
	// ErrInvalidClientAssertion: the assertion verified but its claims are
	// wrong: aud, exp, a reused jti, a missing claim or the algorithm.
	ErrInvalidClientAssertion = errors.New("invalid_client_assertion")
	// ErrMissingParticipant: an account-scoped request without the
	// x-participant-id header.
	ErrMissingParticipant = errors.New("missing " + ParticipantHeader)
)

// TokenError is the token endpoint refusing a token request, decoded from
// its OAuth error body ({"error", "error_description"}). It matches
// [ErrInvalidClient] or [ErrInvalidClientAssertion] by its Code, and unwraps
// to the [*traderapi.APIError] (so [traderapi.ErrUnauthorized] and the
// others match too).
type TokenError struct {
	// Code is the OAuth "error": "invalid_client",
	// "invalid_client_assertion", "access_denied", …
	Code string
	// Description is "error_description", redacted.
	Description string
	// API is the whole answer.
	API *traderapi.APIError
}

// Error returns one line: the OAuth error code and its description.
func (e *TokenError) Error() string {
	msg := fmt.Sprintf("isv: token endpoint refused the request (HTTP %d): %s", e.API.StatusCode, cmpOr(e.Code, "error"))
	if e.Description != "" {
		msg += ": " + e.Description
	}
	switch e.Code {
	case ErrInvalidClient.Error():
		msg += "; does the private key match the public key registered for this client ID in this environment?"
	case ErrInvalidClientAssertion.Error():
		msg += "; check the assertion's claims (iss = sub = client ID, aud = the token endpoint, exp ≤ iat + 300 s, a fresh jti) and the clock"
	case "access_denied", "unauthorized_client":
		msg += "; is the client authorized for this API audience?"
	}
	if e.API.RequestID != "" {
		msg += " [request " + e.API.RequestID + "]"
	}
	return msg
}

// Is matches [ErrInvalidClient] and [ErrInvalidClientAssertion] by Code.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidClient:
		return e.Code == ErrInvalidClient.Error()
	case ErrInvalidClientAssertion:
		return e.Code == ErrInvalidClientAssertion.Error()
	}
	return false
}

// Unwrap returns the decoded answer.
func (e *TokenError) Unwrap() error { return e.API }

// participantError is an account-scoped request without x-participant-id.
type participantError struct{ path string }

func (e *participantError) Error() string {
	return fmt.Sprintf("isv: %s is account-scoped and needs the %s header (firms/<Firm>/users/<user>): "+
		"give the participant ID to Source.Transport or set the header on the request", e.path, ParticipantHeader)
}

func (e *participantError) Is(target error) bool { return target == ErrMissingParticipant }
