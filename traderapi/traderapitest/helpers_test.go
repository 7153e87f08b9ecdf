package traderapitest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// t0 is the fixed start of the exchange clock in these tests.
var t0 = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

const (
	alice    = "alice"
	alicePW  = "correct-horse-42"
	aliceNew = "battery-staple-77"
)

// newServer starts an exchange on a fixed clock at t0 with alice registered.
func newServer(t *testing.T, opts traderapitest.Options) *traderapitest.Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	s := traderapitest.NewServer(opts)
	t.Cleanup(s.Close)
	if err := s.AddUser(alice, alicePW); err != nil {
		t.Fatal(err)
	}
	return s
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// rpcCode is the "code" of a gRPC-gateway error body, -1 if none.
func (a answer) rpcCode() int {
	if c, ok := a.json["code"].(float64); ok {
		return int(c)
	}
	return -1
}

func (a answer) str(key string) string {
	s, _ := a.json[key].(string)
	return s
}

// post sends body as JSON to path with the exchange's Host and the given
// header pairs ("Authorization", "x", ...).
func post(t *testing.T, s *traderapitest.Server, path string, body any, header ...string) answer {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = s.Host()
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, s, req)
}

func send(t *testing.T, s *traderapitest.Server, req *http.Request) answer {
	t.Helper()
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading the body: %v", req.URL.Path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.json)
	return a
}

// wantError checks a gRPC-gateway error answer.
func wantError(t *testing.T, a answer, status, code int, message string) {
	t.Helper()
	if a.status != status || a.rpcCode() != code || (message != "" && a.str("message") != message) {
		t.Fatalf("got %d %s, want %d {code %d, message %q}", a.status, a.raw, status, code, message)
	}
	if _, ok := a.json["details"].([]any); !ok {
		t.Errorf("error body has no details list: %s", a.raw)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// login logs alice (or another user) in and returns the decoded answer.
func login(t *testing.T, s *traderapitest.Server, user, pw string, otp ...string) answer {
	t.Helper()
	body := map[string]string{"username": user, "password": pw}
	if len(otp) > 0 {
		body["otp"] = otp[0]
	}
	a := post(t, s, "/auth/v1beta1/login", body)
	if a.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, a.status, a.raw)
	}
	return a
}
