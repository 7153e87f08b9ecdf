package traderapitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

var aliceLogin = map[string]string{"username": alice, "password": alicePW}

func TestFaultStatus(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	for _, tc := range []struct {
		f          traderapitest.Fault
		status     int
		code       int
		message    string
		retryAfter string
	}{
		{traderapitest.Fault{Status: 401}, 401, 16, "Unauthorized", ""},
		{traderapitest.Fault{Status: 403, Message: "permission denied: missing required scope write:orders"}, 403, 7, "permission denied: missing required scope write:orders", ""},
		{traderapitest.Fault{Status: 429, RetryAfter: "7"}, 429, 8, "Too Many Requests", "7"},
		{traderapitest.Fault{RetryAfter: "3"}, 429, 8, "Too Many Requests", "3"},
		{traderapitest.Fault{Status: 500}, 500, 14, "Internal Server Error", ""},
		{traderapitest.Fault{Status: 503, Code: 13}, 503, 13, "Service Unavailable", ""},
		{traderapitest.Fault{Status: 418}, 418, 2, "I'm a teapot", ""},
	} {
		s.InjectFault(traderapi.PathLogin, tc.f)
		a := post(t, s, traderapi.PathLogin, aliceLogin)
		wantError(t, a, tc.status, tc.code, tc.message)
		if got := a.header.Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%+v: Retry-After %q, want %q", tc.f, got, tc.retryAfter)
		}
	}
	// The fault is armed until cleared, and only on its path.
	if a := post(t, s, traderapi.PathCheckPassword, map[string]string{"password": alicePW}); a.status != http.StatusOK {
		t.Fatalf("check_password under a login fault: %d", a.status)
	}
	s.ClearFaults()
	login(t, s, alice, alicePW)
	if n := s.Calls(traderapi.PathLogin); n != 8 {
		t.Fatalf("Calls(login) = %d, want 8 (faulted calls count)", n)
	}
}

func TestFaultTimesAndAnyPath(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	s.InjectFault(traderapitest.AnyPath, traderapitest.Fault{Status: 503})
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 500, Times: 2})
	for i, want := range []int{500, 500, 503} {
		if a := post(t, s, traderapi.PathLogin, aliceLogin); a.status != want {
			t.Fatalf("call %d: %d, want %d", i, a.status, want)
		}
	}
	if a := post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": "x"}); a.status != 503 {
		t.Fatalf("AnyPath fault: %d", a.status)
	}
}

func TestFaultBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{HTML: true, Status: 502, Times: 1})
	a := post(t, s, traderapi.PathLogin, aliceLogin)
	if a.status != 502 || !bytes.Contains(a.raw, []byte("<title>502 Bad Gateway</title>")) || a.header.Get("Content-Type") != "text/html" {
		t.Fatalf("HTML fault: %d %q %q", a.status, a.header.Get("Content-Type"), a.raw)
	}
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{HTML: true, Times: 1})
	if a := post(t, s, traderapi.PathLogin, aliceLogin); a.status != 200 || !bytes.HasPrefix(a.raw, []byte("<html>")) {
		t.Fatalf("HTML fault without status: %d %q", a.status, a.raw)
	}

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{TruncatedJSON: true, Times: 1})
	a = post(t, s, traderapi.PathLogin, aliceLogin)
	if a.status != 200 || json.Valid(a.raw) || !bytes.HasPrefix(a.raw, []byte(`{"accessToken":"eyJ`)) ||
		a.header.Get("Content-Length") != strconv.Itoa(len(a.raw)) {
		t.Fatalf("truncated: %d, Content-Length %s, %d bytes %q", a.status, a.header.Get("Content-Length"), len(a.raw), a.raw)
	}

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{GarbledToken: true, Times: 1})
	a = post(t, s, traderapi.PathLogin, aliceLogin)
	if tok := a.str("accessToken"); a.status != 200 || strings.Count(tok, ".") != 1 || !strings.HasPrefix(tok, "eyJ") || a.str("refreshToken") == "" {
		t.Fatalf("garbled: %d %s", a.status, a.raw)
	}

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Oversized: true, Times: 1})
	a = post(t, s, traderapi.PathLogin, aliceLogin)
	if a.status != 200 || len(a.raw) <= 1<<20 || a.str("accessToken") == "" {
		t.Fatalf("oversized: %d, %d bytes", a.status, len(a.raw))
	}

	h := http.Header{}
	h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 401, Body: []byte(`{"error":"authentication_failed","code":401}`), Header: h, Times: 1})
	a = post(t, s, traderapi.PathLogin, aliceLogin)
	if a.status != 401 || a.str("error") != "authentication_failed" || a.header.Get("WWW-Authenticate") != h.Get("WWW-Authenticate") {
		t.Fatalf("raw body fault: %d %v %s", a.status, a.header, a.raw)
	}
	login(t, s, alice, alicePW) // every fault above was Times: 1
}

func TestFaultTiming(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Latency: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	login(t, s, alice, alicePW)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency fault answered in %s", d)
	}

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Latency: 10 * time.Second, Times: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+traderapi.PathLogin, strings.NewReader(`{}`))
	req.Host = s.Host()
	start = time.Now()
	if _, err := s.HTTPClient().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("latency fault with a 50ms deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the deadline took %s to cut the call", d)
	}

	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{SlowBody: 200 * time.Millisecond, Times: 1})
	start = time.Now()
	a := login(t, s, alice, alicePW)
	if d := time.Since(start); d < 150*time.Millisecond || a.str("accessToken") == "" {
		t.Fatalf("slow body took %s, body %s", d, a.raw)
	}
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Reset: true, Times: 1})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+traderapi.PathLogin, strings.NewReader(`{}`))
	req.Host = s.Host()
	resp, err := s.HTTPClient().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a reset connection answered %d", resp.StatusCode)
	}
	login(t, s, alice, alicePW)

	tls := traderapitest.NewTLSServer(traderapitest.Options{})
	defer tls.Close()
	tls.InjectFault(traderapi.PathLogin, traderapitest.Fault{Reset: true})
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, tls.URL+traderapi.PathLogin, strings.NewReader(`{}`))
	req.Host = tls.Host()
	if resp, err := tls.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a reset TLS connection answered %d", resp.StatusCode)
	}
}
