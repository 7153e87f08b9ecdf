package isvkit

import "testing"

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
		t.Errorf("the table has %d rows, the ISV authentication guide has 32", n)
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

// Not parallel: AllocsPerRun needs the test alone.
func TestRequiredScopeDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(1000, func() { RequiredScope("GET", "/v1/orderbook/X/bbo") }); n != 0 {
		t.Errorf("RequiredScope: %v allocs/op, want 0", n)
	}
}
