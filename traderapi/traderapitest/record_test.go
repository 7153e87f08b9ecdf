package traderapitest_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestRecord(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	a := login(t, s, alice, alicePW)
	access := a.str("accessToken")
	post(t, s, traderapi.PathInsertOrder, `{"symbol":"aec-nfl"}`, "Authorization", access)
	post(t, s, traderapi.PathLogin, aliceLogin, "Host", "evil.example")

	reqs := s.Requests()
	if len(reqs) != 3 || s.Calls(traderapi.PathLogin) != 2 || s.Calls(traderapi.PathInsertOrder) != 1 || s.Calls(traderapi.PathLogout) != 0 {
		t.Fatalf("%d requests, calls login %d insert_order %d", len(reqs), s.Calls(traderapi.PathLogin), s.Calls(traderapi.PathInsertOrder))
	}
	r := reqs[1]
	if r.Method != http.MethodPost || r.Path != traderapi.PathInsertOrder || r.Host != traderapitest.DefaultHost ||
		r.Header.Get("Authorization") != access || string(r.Body) != `{"symbol":"aec-nfl"}` || !r.At.Equal(t0) {
		t.Fatalf("recorded %#v", r)
	}
	if reqs[2].Host != "evil.example" {
		t.Fatalf("recorded host %q", reqs[2].Host)
	}
	last, ok := s.LastRequest(traderapi.PathLogin)
	if !ok || last.Host != "evil.example" {
		t.Fatalf("LastRequest = %v, %v", last, ok)
	}

	// Requests returns a copy.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Test", "1")
	if again := s.Requests(); again[0].Body[0] != '{' || again[0].Header.Get("X-Test") != "" {
		t.Fatal("Requests shares memory with the exchange")
	}

	// A recorded request prints no secret, whatever the verb or logger.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("req", "r", reqs[0], "o", reqs[1])
	slog.New(slog.NewTextHandler(&logs, nil)).Info("req", "r", reqs[0], "o", reqs[1])
	printed := fmtAll(reqs[0]) + fmtAll(reqs[1]) + logs.String()
	for _, secret := range []string{alicePW, access, access[:20]} {
		if strings.Contains(printed, secret) {
			t.Fatalf("a recorded request prints a secret: %s", printed)
		}
	}
	if !strings.Contains(printed, "[REDACTED]") || !strings.Contains(printed, traderapi.PathLogin) {
		t.Fatalf("printed form lacks the redacted request: %s", printed)
	}

	s.ResetCounters()
	if len(s.Requests()) != 0 || s.Calls(traderapi.PathLogin) != 0 {
		t.Fatal("ResetCounters kept something")
	}
}

// TestConcurrentUse runs logins, refreshes, orders, faults and clock changes
// at once; with -race it proves the exchange's locking.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				a := post(t, s, traderapi.PathLogin, aliceLogin)
				if a.status != http.StatusOK {
					continue // a fault from another goroutine
				}
				post(t, s, traderapi.PathRefresh, map[string]string{"refreshToken": a.str("refreshToken")})
				post(t, s, traderapi.PathInsertOrder, `{}`, "Authorization", a.str("accessToken"))
				if i == 0 {
					s.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503, Times: 1})
					s.Advance(0)
					_ = s.Requests()
					_ = fmt.Sprint(s.Exchange)
				}
			}
		})
	}
	wg.Wait()
	if n := s.Calls(traderapi.PathLogin); n != 40 {
		t.Fatalf("Calls(login) = %d, want 40", n)
	}
}
