package isv

import (
	"errors"
	"net/http"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestRequiredScope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path, scope string
		ok                  bool
	}{
		{"POST", "/v1/trading/orders", "write:orders", true},
		{"POST", "/v1/trading/orders/cancel", "write:orders", true},
		{"GET", "/v1/trading/orders/open", "read:orders", true},
		{"GET", "/v1/positions?symbol=X", "read:positions", true},
		{"GET", "/v1/funding/balance-ledger/download", "read:positions", true},
		{"GET", "/v1/orderbook/BTC-YES", "read:l2marketdata", true},
		{"GET", "/v1/orderbook/BTC-YES/bbo", "read:marketdata", true},
		{"get", "/v1/whoami", "read:accounts", true},
		{"POST", "/v1/kyc/verify", "write:kyc", true},
		{"GET", "/v1/health", "", true},
		{"GRPC", "CreateBalanceLedgerSubscription", "read:positions", true},
		{"GRPC", "/polymarket.v1.MarketDataService/BiDirectionalStreamMarketData", "read:marketdata", true},
		{"GET", "/v1/trading/orders", "", false}, // wrong method
		{"GET", "/v1/orderbook//bbo", "", false}, // empty segment
		{"GET", "/v1/orderbook/a/b/bbo", "", false},
		{"POST", "/v1/nothing", "", false},
		{"GET", "CreateBalanceLedgerSubscription", "", false}, // gRPC names only for GRPC
	} {
		scope, ok := RequiredScope(tc.method, tc.path)
		if scope != tc.scope || ok != tc.ok {
			t.Errorf("RequiredScope(%s %s) = %q, %v; want %q, %v", tc.method, tc.path, scope, ok, tc.scope, tc.ok)
		}
	}
	if n := len(Endpoints()); n != 32 {
		t.Errorf("the table has %d rows, seed 003 has 32", n)
	}
}

func TestAccountScoped(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"/v1/trading/orders": true, "/v1/trading/orders/cancel": true, "/v1/positions": true,
		"/v1/positions/ledger": true, "/v1/report/orders/search": true, "/v1/report/trades/search": true,
		"/v1/funding/balance-ledger": true, "/v1/valuations/positions": true,
		"/v1/report/trades/stats": false, "/v1/orderbook/X/bbo": false, "/v1/refdata/symbols": false,
		"/v1/health": false, "/v1/whoami": false, "/v1/users": false, "/v1/funding/accounts": false,
		"/v1/positionsX": false, "/v1/tradingfoo": false,
	} {
		if got := AccountScoped(path); got != want {
			t.Errorf("AccountScoped(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestHasScopeReadsTheToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{}, "read:orders", "write:orders")
	tok := mustToken(t, tb.source(t))
	if !HasScope(tok, "write:orders") || !HasScope(tok, "read:orders") {
		t.Fatal("granted scopes not found")
	}
	if HasScope(tok, "read:positions") || HasScope(tok, "write") || HasScope(tok, "") {
		t.Fatal("a scope not granted was found")
	}
	if HasScope("opaque-token", "read:orders") {
		t.Fatal("an opaque token has scopes")
	}
}

func TestAsScopeError(t *testing.T) {
	t.Parallel()
	scopeErr := &traderapi.APIError{Endpoint: "/v1/positions", StatusCode: 403, Code: 7,
		Message: "permission denied: missing required scope read:positions"}
	se, ok := asScopeError(scopeErr)
	if !ok || se.Scope != "read:positions" || se.Endpoint != "/v1/positions" {
		t.Fatalf("asScopeError = %#v, %v", se, ok)
	}
	if !errors.Is(se, traderapi.ErrForbidden) || !errors.Is(se, scopeErr) {
		t.Fatal("ScopeError does not match ErrForbidden and its APIError")
	}
	// gRPC code 7 through a gateway that answers 200 is still recognised.
	if se, ok := asScopeError(&traderapi.APIError{StatusCode: 200, Code: 7, Message: scopeErr.Message}); !ok || se.Scope != "read:positions" {
		t.Fatal("code 7 not recognised")
	}
	for _, err := range []error{
		&traderapi.APIError{StatusCode: 403, Message: "IP not allowlisted"},
		&traderapi.APIError{StatusCode: 401, Message: "permission denied: missing required scope x"},
		&traderapi.APIError{StatusCode: 403, Message: "permission denied: missing required scope "},
		errors.New("permission denied: missing required scope read:x"),
	} {
		if _, ok := asScopeError(err); ok {
			t.Errorf("asScopeError(%v) recognised a scope error", err)
		}
	}
	resp := &http.Response{StatusCode: 200, Request: &http.Request{}}
	if CheckResponse(resp) != nil {
		t.Error("CheckResponse(200) is an error")
	}
}
