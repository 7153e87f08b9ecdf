package isv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
)

// EndpointScope is one row of the ISV authentication guide's endpoint → scope table.
type EndpointScope struct {
	// Method is the HTTP method, or "GRPC" for a gRPC method.
	Method string
	// Path is the REST path template (segments like {symbol} match any one
	// segment), or the gRPC method's name.
	Path string
	// Scope is the scope the endpoint needs; "" for none (/v1/health).
	Scope string
}

// scopeTable is the ISV authentication guide's table, as data. It is an array so that
// [RequiredScope] walks it without allocating.
func scopeTable() [32]EndpointScope {
	return [...]EndpointScope{
		{"POST", "/v1/trading/orders", "write:orders"},
		{"POST", "/v1/trading/orders/cancel", "write:orders"},
		{"GET", "/v1/trading/orders/open", "read:orders"},
		{"POST", "/v1/report/orders/search", "read:reports"},
		{"POST", "/v1/report/trades/search", "read:reports"},
		{"GET", "/v1/incentives/earnings", "read:reports"},
		{"GET", "/v1/positions", "read:positions"},
		{"POST", "/v1/positions/balance", "read:positions"},
		{"POST", "/v1/positions/balances", "read:positions"},
		{"GET", "/v1/positions/ledger", "read:positions"},
		{"GET", "/v1/positions/ledger/download", "read:positions"},
		{"GET", "/v1/funding/balance-ledger", "read:positions"},
		{"GET", "/v1/funding/balance-ledger/download", "read:positions"},
		{"GRPC", "CreateBalanceLedgerSubscription", "read:positions"},
		{"GET", "/v1/valuations/positions", "read:positions"},
		{"GET", "/v1/valuations/positions/download", "read:positions"},
		{"POST", "/v1/valuations/accounts/statement/download", "read:positions"},
		{"GET", "/v1/orderbook/{symbol}", "read:l2marketdata"},
		{"GET", "/v1/orderbook/{symbol}/bbo", "read:marketdata"},
		{"GRPC", "BiDirectionalStreamMarketData", "read:marketdata"},
		{"GRPC", "CreateMarketDataSubscription", "read:marketdata"},
		{"POST", "/v1/refdata/symbols", "read:instruments"},
		{"POST", "/v1/refdata/instruments", "read:instruments"},
		{"POST", "/v1/refdata/metadata", "read:instruments"},
		{"GET", "/v1/whoami", "read:accounts"},
		{"GET", "/v1/users", "read:accounts"},
		{"GET", "/v1/funding/accounts", "read:funding"},
		{"POST", "/v1/aeropay/deposits", "write:funding"},
		{"POST", "/v1/checkout/deposits", "write:funding"},
		{"GET", "/v1/kyc/status", "read:kyc"},
		{"POST", "/v1/kyc/verify", "write:kyc"},
		{"GET", "/v1/health", ""},
	}
}

// Endpoints returns the ISV authentication guide's endpoint → scope table.
func Endpoints() []EndpointScope {
	t := scopeTable()
	return t[:]
}

// RequiredScope returns the scope an endpoint needs. ok is false for an
// endpoint the table does not know; scope is "" for one that needs none.
// For gRPC, method is "GRPC" and path the method's name or full name
// ("/pkg.Service/CreateMarketDataSubscription").
func RequiredScope(method, path string) (scope string, ok bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	grpc := strings.EqualFold(method, "GRPC")
	if grpc {
		path = path[strings.LastIndexByte(path, '/')+1:]
	}
	t := scopeTable()
	for i := range t {
		e := &t[i]
		if (grpc || e.Method != "GRPC") && strings.EqualFold(e.Method, method) && matchTemplate(e.Path, path) {
			return e.Scope, true
		}
	}
	return "", false
}

// matchTemplate matches a path against a template whose {name} segments
// match any single non-empty segment.
func matchTemplate(tmpl, path string) bool {
	for {
		ti, pi := strings.IndexByte(tmpl, '/'), strings.IndexByte(path, '/')
		if (ti < 0) != (pi < 0) {
			return false
		}
		ts, ps := tmpl, path
		if ti >= 0 {
			ts, ps = tmpl[:ti], path[:pi]
		}
		if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
			if ps == "" {
				return false
			}
		} else if ts != ps {
			return false
		}
		if ti < 0 {
			return true
		}
		tmpl, path = tmpl[ti+1:], path[pi+1:]
	}
}

// AccountScoped reports whether a REST path acts for one account and so
// needs the x-participant-id header (the authentication troubleshooting guide): trading, positions, reports
// (except /v1/report/trades/stats), the balance ledger and valuations.
// Market data, reference data, whoami, users and health do not.
func AccountScoped(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	under := func(prefix string) bool {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	switch {
	case under("/v1/report/trades/stats"):
		return false
	case under("/v1/trading"), under("/v1/positions"), under("/v1/report"),
		under("/v1/funding/balance-ledger"), under("/v1/valuations"):
		return true
	}
	return false
}

// ParticipantHeader is the header that names the account an
// account-scoped request acts for: firms/<Firm>/users/<user>.
const ParticipantHeader = "x-participant-id"

// HasScope reports whether an access token (a JWT) carries scope in its
// space-separated "scope" claim (or in an Auth0 "permissions" or "scp"
// array). It decodes the token without verifying it; an opaque token has no
// scopes to read and gives false.
func HasScope(token traderapi.Secret, scope string) bool {
	return scopeIn(tokenScopes(token.Reveal()), scope)
}

func scopeIn(scopes, scope string) bool {
	for s := range strings.FieldsSeq(scopes) {
		if s == scope {
			return true
		}
	}
	return false
}

// tokenScopes returns the scopes a JWT carries, space separated.
func tokenScopes(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var c struct {
		Scope       string   `json:"scope"`
		Permissions []string `json:"permissions"`
		SCP         []string `json:"scp"`
	}
	if isvkit.DecodePart(parts[1], &c) != nil {
		return ""
	}
	return strings.Join(append(append([]string{c.Scope}, c.Permissions...), c.SCP...), " ")
}

// jwtSegment decodes one base64url JWT segment, padded or not.
func jwtSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// CheckScope returns a [*ScopeError] when a JWT access token lacks the
// scope method and path need, before any request is sent. It returns nil for
// an endpoint that needs no scope, one the table does not know, and an opaque
// token (the server decides).
func CheckScope(token traderapi.Secret, method, path string) error {
	scope, ok := RequiredScope(method, path)
	if !ok || scope == "" {
		return nil
	}
	scopes := tokenScopes(token.Reveal())
	if scopes == "" || scopeIn(scopes, scope) {
		return nil
	}
	return &ScopeError{Scope: scope, Endpoint: path}
}

// ScopeError is the exchange's "permission denied: missing required scope
// X" (403 / gRPC code 7), or the same found by [CheckScope] before sending.
// It matches [traderapi.ErrForbidden].
type ScopeError struct {
	// Scope is the missing scope, e.g. "read:positions".
	Scope string
	// Endpoint is the path called.
	Endpoint string
	// API is the exchange's answer; nil when [CheckScope] found it.
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

// CheckResponse turns an API response into an error: nil for a 2xx, a
// [*ScopeError] for a missing scope, else a [*traderapi.APIError]. It reads
// (at most 1 MiB of) the body of a non-2xx response only.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	body, _ := readCapped(resp.Body)
	ae := traderapi.DecodeError(resp.Request.URL.Path, resp, body)
	if se, ok := asScopeError(ae); ok {
		return se
	}
	return ae
}
