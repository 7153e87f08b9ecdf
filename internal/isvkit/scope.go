package isvkit

import (
	"strings"

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

// HasScope reports whether an access token (a JWT) carries scope in its
// space-separated "scope" claim (or in an Auth0 "permissions" or "scp"
// array). It decodes the token without verifying it; an opaque token has no
// scopes to read and gives false.
func HasScope(token traderapi.Secret, scope string) bool {
	return scopeIn(TokenScopes(token.Reveal()), scope)
}

func scopeIn(scopes, scope string) bool {
	for s := range strings.FieldsSeq(scopes) {
		if s == scope {
			return true
		}
	}
	return false
}

// TokenScopes returns the scopes a JWT carries, space separated.
func TokenScopes(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var c struct {
		Scope       string   `json:"scope"`
		Permissions []string `json:"permissions"`
		SCP         []string `json:"scp"`
	}
	if DecodePart(parts[1], &c) != nil {
		return ""
	}
	return strings.Join(append(append([]string{c.Scope}, c.Permissions...), c.SCP...), " ")
}
