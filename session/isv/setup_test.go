package isv

import (
	"crypto/rsa"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	testClientID    = "isv-client-123"
	testParticipant = "firms/ISV-Participant-Acme/users/alice"
)

// allScopes returns the scopes the test client is registered with.
func allScopes() []string {
	return []string{"read:accounts", "write:orders", "read:positions", "read:marketdata"}
}

// testbed is a local token service and sample API on loopback.
type testbed struct {
	auth    *traderapitest.AuthServer
	authURL string
	api     *traderapitest.APIServer
	apiURL  string
	key     *rsa.PrivateKey
}

// setup starts an AuthServer (with the test client registered with scopes)
// and an APIServer; both close with the test.
func setup(t testing.TB, opts traderapitest.AuthOptions, scopes ...string) *testbed {
	t.Helper()
	if scopes == nil {
		scopes = allScopes()
	}
	auth := traderapitest.NewAuthServer(opts)
	key := loadKey(t, "client-pkcs1.pem")
	auth.RegisterClient(testClientID, &key.PublicKey, scopes)
	authSrv := httptest.NewServer(auth)
	t.Cleanup(authSrv.Close)
	api := traderapitest.NewAPIServer(auth)
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	return &testbed{auth: auth, authURL: authSrv.URL, api: api, apiURL: apiSrv.URL, key: key}
}

// config is a Config for the testbed's client; edit may change it.
func (tb *testbed) config(edit ...func(*Config)) Config {
	cfg := Config{
		ClientID: testClientID,
		Key:      tb.key,
		AuthURL:  tb.authURL,
		Audience: tb.auth.Audience(),
		APIURL:   tb.apiURL,
	}
	for _, e := range edit {
		e(&cfg)
	}
	return cfg
}

// source returns a Source for the testbed, closed with the test.
func (tb *testbed) source(t *testing.T, edit ...func(*Config)) *Source {
	t.Helper()
	src, err := New(tb.config(edit...))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// loadKey loads a key from testdata.
func loadKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := LoadPrivateKeyFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return k
}

// fakeTimers replaces time.AfterFunc so that tests fire timers by hand.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
	fired   bool
}

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) stopper {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	ft.timers = append(ft.timers, t)
	return fakeStopper{ft, t}
}

type fakeStopper struct {
	ft *fakeTimers
	t  *fakeTimer
}

func (s fakeStopper) Stop() bool {
	s.ft.mu.Lock()
	defer s.ft.mu.Unlock()
	was := !s.t.stopped && !s.t.fired
	s.t.stopped = true
	return was
}

// durations returns the durations of the timers not yet fired or stopped.
func (ft *fakeTimers) durations() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var ds []time.Duration
	for _, t := range ft.timers {
		if !t.stopped && !t.fired {
			ds = append(ds, t.d)
		}
	}
	return ds
}

// advance fires every live timer due within d, as if d had passed.
func (ft *fakeTimers) advance(d time.Duration) int {
	ft.mu.Lock()
	var due []*fakeTimer
	for _, t := range ft.timers {
		if !t.stopped && !t.fired && t.d <= d {
			t.fired = true
			due = append(due, t)
		}
	}
	ft.mu.Unlock()
	for _, t := range due {
		t.f()
	}
	return len(due)
}

// withFakeTimers makes src schedule on ft. Call it before the first Token.
func withFakeTimers(src *Source) *fakeTimers {
	ft := &fakeTimers{}
	src.useTimers(ft.afterFunc)
	return ft
}
