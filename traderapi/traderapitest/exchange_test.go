package traderapitest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	e := traderapitest.New(traderapitest.Options{})
	if e.Host() != traderapitest.DefaultHost || e.AccessTTL().Hours() != 1 || e.RefreshTTL().Hours() != 7*24 {
		t.Fatalf("defaults: host %q, access %s, refresh %s", e.Host(), e.AccessTTL(), e.RefreshTTL())
	}
	if err := e.AddUser("bob", "short1"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("AddUser with a short password: %v, want the policy's length rule", err)
	}
	if s := fmtAll(e); strings.Contains(s, "key") {
		t.Fatalf("the exchange prints its state: %s", s)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	good := map[string]string{"username": alice, "password": alicePW}

	t.Run("wrong host is misdirected", func(t *testing.T) {
		a := post(t, s, traderapi.PathLogin, good, "Host", "traderapi.us-east-1.privatelink.preprod.polymarketexchange.com")
		if a.status != http.StatusMisdirectedRequest || !bytes.Contains(a.raw, []byte("<html>")) {
			t.Fatalf("got %d %q, want 421 and an HTML page", a.status, a.raw)
		}
		if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
		}
	})
	t.Run("host is case and port insensitive", func(t *testing.T) {
		a := post(t, s, traderapi.PathLogin, good, "Host", "REST.preprod.polymarketexchange.com:443")
		if a.status != http.StatusOK {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		wantError(t, post(t, s, "/auth/v1beta1/nope", good), http.StatusNotFound, 5, "Not Found")
	})
	t.Run("wrong method", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+traderapi.PathLogin, nil)
		req.Host = s.Host()
		a := send(t, s, req)
		wantError(t, a, http.StatusMethodNotAllowed, 12, "Method Not Allowed")
		if a.header.Get("Allow") != http.MethodPost {
			t.Errorf("Allow = %q", a.header.Get("Allow"))
		}
	})
	for name, body := range map[string]string{
		"not JSON":         "username=alice",
		"empty":            "",
		"unknown field":    `{"username":"alice","password":"x","pasword":"y"}`,
		"wrong type":       `{"username":7,"password":"x"}`,
		"trailing data":    `{"username":"alice","password":"x"} {}`,
		"truncated":        `{"username":"alice","pass`,
		"missing field":    `{"username":"alice"}`,
		"array not object": `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			a := post(t, s, traderapi.PathLogin, body)
			wantError(t, a, http.StatusBadRequest, 3, "")
			if strings.Contains(a.str("message"), "alice") {
				t.Errorf("the message quotes the body: %q", a.str("message"))
			}
		})
	}
	t.Run("request body over 1 MiB", func(t *testing.T) {
		a := post(t, s, traderapi.PathLogin, `{"username":"`+strings.Repeat("a", 1<<20)+`"}`)
		wantError(t, a, http.StatusRequestEntityTooLarge, 8, "")
	})
}

func TestClock(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	if !s.Now().Equal(t0) {
		t.Fatalf("Now = %s, want the Options clock", s.Now())
	}
	s.Advance(90 * time.Second)
	if !s.Now().Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("Now after Advance = %s", s.Now())
	}
	later := t0.Add(48 * time.Hour)
	s.SetNow(func() time.Time { return later })
	if !s.Now().Equal(later) {
		t.Fatalf("SetNow kept the Advance offset: %s", s.Now())
	}
	if a := login(t, s, alice, alicePW); a.str("accessIssueTime") != "2025-01-17T10:00:00Z" {
		t.Fatalf("issue time %q does not follow the clock", a.str("accessIssueTime"))
	}
	s.SetNow(nil)
	if d := time.Since(s.Now()); d < 0 || d > time.Minute {
		t.Fatalf("SetNow(nil) is not the wall clock: %s off", d)
	}
	s.CloseClientConnections()
	s.HTTPClient().CloseIdleConnections()
	login(t, s, alice, alicePW) // a new connection works
}
