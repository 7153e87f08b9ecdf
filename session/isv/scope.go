package isv

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pmx-login/pmx-login/traderapi"
)

// ParticipantHeader is the header that names the account an
// account-scoped request acts for: firms/<Firm>/users/<user>.
const ParticipantHeader = "x-participant-id"

// ScopeError is the exchange's "permission denied: missing required scope
// X" (403 / gRPC code 7), or the same found before sending.
// It matches [traderapi.ErrForbidden].
type ScopeError struct {
	// Scope is the missing scope, e.g. "read:positions".
	Scope string
	// Endpoint is the path called.
	Endpoint string
	// API is the exchange's answer; nil when found before sending.
	API *traderapi.APIError
}

// Error names the missing scope and the endpoint that needs it.
func (e *ScopeError) Error() string {
	return fmt.Sprintf("isv: %s: permission denied: missing required scope %s: the client is not granted it; "+
		"ask Polymarket support to add %s to your client ID, then get a fresh token", e.Endpoint, e.Scope, e.Scope)
}

// Is matches [traderapi.ErrForbidden].
func (e *ScopeError) Is(target error) bool { return target == traderapi.ErrForbidden }

// Unwrap returns the exchange's answer, if any.
func (e *ScopeError) Unwrap() error {
	if e.API == nil {
		return nil
	}
	return e.API
}

const missingScopePrefix = "permission denied: missing required scope "

// asScopeError returns the [*ScopeError] err is or holds, turning an
// [*traderapi.APIError] that says "permission denied: missing required scope
// X" (403 or code 7) into one naming X.
func asScopeError(err error) (*ScopeError, bool) {
	if se, ok := errors.AsType[*ScopeError](err); ok {
		return se, true
	}
	ae, ok := errors.AsType[*traderapi.APIError](err)
	if !ok || (ae.StatusCode != http.StatusForbidden && ae.Code != 7) {
		return nil, false
	}
	i := strings.Index(strings.ToLower(ae.Message), missingScopePrefix)
	if i < 0 {
		return nil, false
	}
	scope, _, _ := strings.Cut(strings.TrimSpace(ae.Message[i+len(missingScopePrefix):]), " ")
	if scope == "" {
		return nil, false
	}
	return &ScopeError{Scope: scope, Endpoint: ae.Endpoint, API: ae}, true
}

// CheckResponse is [traderapi.CheckResponse] that tells a missing scope
// apart: nil for a 2xx, a [*ScopeError] for a missing scope, else a
// [*traderapi.APIError]. It reads at most 1 MiB of a failed response's body.
func CheckResponse(resp *http.Response) error {
	err := traderapi.CheckResponse(resp)
	if se, ok := asScopeError(err); ok {
		return se
	}
	return err
}
