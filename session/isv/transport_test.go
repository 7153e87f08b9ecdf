package isv

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// apiClient is an HTTP client whose transport is src's, for participant.
func apiClient(src *Source, participant string) *http.Client {
	return &http.Client{Transport: src.Transport(nil, participant)}
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, out
}

func TestTransportSendsBearerAndParticipant(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	c := apiClient(src, testParticipant)

	resp, body := do(t, c, "GET", tb.apiURL+"/v1/whoami", nil)
	if resp.StatusCode != 200 || body["clientId"] != testClientID {
		t.Fatalf("whoami: %d %v", resp.StatusCode, body)
	}
	tok := mustToken(t, src)
	h := tb.api.LastHeader("/v1/whoami")
	if h.Get("Authorization") != "Bearer "+tok.Reveal() {
		t.Fatal("Authorization is not exactly Bearer <token>")
	}
	if h.Get(ParticipantHeader) != "" {
		t.Error("x-participant-id sent on a non-account-scoped path")
	}

	resp, body = do(t, c, "POST", tb.apiURL+"/v1/trading/orders", strings.NewReader(`{"symbol":"X"}`))
	if resp.StatusCode != 200 || body["participantId"] != testParticipant {
		t.Fatalf("orders: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", tb.apiURL+"/v1/positions", nil)
	if resp.StatusCode != 200 || body["participantId"] != testParticipant {
		t.Fatalf("positions: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", tb.apiURL+"/v1/orderbook/BTC-YES/bbo", nil)
	if resp.StatusCode != 200 || body["symbol"] != "BTC-YES" {
		t.Fatalf("bbo: %d %v", resp.StatusCode, body)
	}
	if tb.api.LastHeader("/v1/orderbook/BTC-YES/bbo").Get(ParticipantHeader) != "" {
		t.Error("x-participant-id sent for market data")
	}
	// A participant on the request wins over the transport's.
	other := "firms/ISV-Participant-Acme/users/bob"
	_, body = do(t, c, "GET", tb.apiURL+"/v1/positions", nil, ParticipantHeader, other)
	if body["participantId"] != other {
		t.Fatalf("per-request participant: %v", body)
	}
	if n := tb.auth.Requests(); n != 1 {
		t.Fatalf("token requests = %d, want 1 for all calls", n)
	}
}

func TestTransportRefusesAccountScopedWithoutParticipant(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	c := apiClient(src, "")
	for _, path := range []string{"/v1/trading/orders", "/v1/positions", "/v1/report/orders/search", "/v1/valuations/positions"} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", tb.apiURL+path, strings.NewReader("{}"))
		_, err := c.Do(req)
		if !errors.Is(err, ErrMissingParticipant) || !strings.Contains(err.Error(), "x-participant-id") {
			t.Fatalf("%s without a participant: %v, want ErrMissingParticipant naming the header", path, err)
		}
		if tb.api.Calls(path) != 0 {
			t.Fatalf("%s was sent without a participant", path)
		}
	}
	// Paths that need none still work.
	resp, _ := do(t, c, "GET", tb.apiURL+"/v1/whoami", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("whoami: %d", resp.StatusCode)
	}
	// The API itself refuses an account-scoped call without the header,
	// naming it (the transport is bypassed by setting the token by hand).
	tok := mustToken(t, src)
	resp, body := do(t, http.DefaultClient, "GET", tb.apiURL+"/v1/positions", nil, "Authorization", "Bearer "+tok.Reveal())
	if resp.StatusCode != 400 || !strings.Contains(body["message"].(string), "x-participant-id") {
		t.Fatalf("API without participant: %d %v", resp.StatusCode, body)
	}
}

func TestTransportRetriesOnceAfter401(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	c := apiClient(src, testParticipant)
	first := mustToken(t, src)
	tb.auth.Revoke(first.Reveal())

	resp, _ := do(t, c, "POST", tb.apiURL+"/v1/trading/orders", strings.NewReader(`{"a":1}`))
	if resp.StatusCode != 200 {
		t.Fatalf("after a revoked token: %d, want 200 after one retry", resp.StatusCode)
	}
	if tb.auth.Requests() != 2 || tb.api.Calls("/v1/trading/orders") != 2 {
		t.Fatalf("token requests %d, API calls %d; want 2 and 2", tb.auth.Requests(), tb.api.Calls("/v1/trading/orders"))
	}
	if mustToken(t, src) == first {
		t.Fatal("the rejected token is still cached")
	}

	// A second 401 is the caller's: returned, not retried again.
	tb.api.RejectNext(2)
	resp, _ = do(t, c, "GET", tb.apiURL+"/v1/whoami", nil)
	if resp.StatusCode != 401 || tb.api.Calls("/v1/whoami") != 2 || tb.auth.Requests() != 3 {
		t.Fatalf("two 401s: status %d, calls %d, token requests %d; want 401, 2, 3",
			resp.StatusCode, tb.api.Calls("/v1/whoami"), tb.auth.Requests())
	}
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
	}

	// A body that cannot be replayed is not retried; the token is still dropped.
	tb.api.RejectNext(1)
	before := mustToken(t, src)
	resp, _ = do(t, c, "POST", tb.apiURL+"/v1/trading/orders", io.NopCloser(strings.NewReader(`{"a":1}`)))
	if resp.StatusCode != 401 || tb.api.Calls("/v1/trading/orders") != 3 {
		t.Fatalf("non-replayable body: %d, calls %d; want 401 and no retry", resp.StatusCode, tb.api.Calls("/v1/trading/orders"))
	}
	if mustToken(t, src) == before {
		t.Fatal("the rejected token is still cached")
	}
}

func TestTransportReturns403AsIs(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{}, "read:accounts") // no read:positions
	src := tb.source(t)
	c := apiClient(src, testParticipant)
	resp, _ := do(t, c, "GET", tb.apiURL+"/v1/positions", nil)
	if resp.StatusCode != 403 {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if tb.api.Calls("/v1/positions") != 1 || tb.auth.Requests() != 1 {
		t.Fatal("a 403 was retried or caused a new token")
	}
	err := CheckResponse(resp)
	se, ok := asScopeError(err)
	if !ok || se.Scope != "read:positions" || !errors.Is(err, traderapi.ErrForbidden) {
		t.Fatalf("CheckResponse = %v, want a ScopeError for read:positions", err)
	}
	if se.API == nil || se.API.Code != 7 {
		t.Fatalf("the exchange's answer is not kept: %#v", se.API)
	}
	if !strings.Contains(err.Error(), "missing required scope read:positions") {
		t.Fatalf("error %q", err)
	}
}

func TestTransportDoesNotTouchTheCallersRequest(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", tb.apiURL+"/v1/positions", nil)
	resp, err := apiClient(src, testParticipant).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get("Authorization") != "" || req.Header.Get(ParticipantHeader) != "" {
		t.Fatal("the transport modified the caller's request")
	}
}

// The sample API answers the mistakes of seed 000 about the header itself.
func TestAPIServerRefusesBadAuthorization(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	tok := mustToken(t, tb.source(t)).Reveal()
	for name, h := range map[string]string{
		"missing":      "",
		"no Bearer":    tok,
		"Bearer twice": "Bearer Bearer " + tok,
		"garbage":      "Bearer not-a-token",
	} {
		resp, body := do(t, http.DefaultClient, "GET", tb.apiURL+"/v1/whoami", nil, "Authorization", h)
		if resp.StatusCode != 401 || body["code"] != float64(16) ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
			t.Errorf("%s: %d %v %q", name, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
		}
	}
	resp, _ := do(t, http.DefaultClient, "GET", tb.apiURL+"/v1/health", nil)
	if resp.StatusCode != 200 {
		t.Errorf("health without auth: %d", resp.StatusCode)
	}
}
