package doctor

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	user     = "trader-1"
	password = traderapi.Secret("s3cure-Passw0rd!")
)

// testbed is a local exchange with a logged-in user whose session is in a
// memory store.
type testbed struct {
	ex     *traderapitest.Exchange
	srv    *traderapitest.Server
	env    traderapi.Environment
	client *traderapi.Client
	store  *keystore.Memory
}

// newExchange starts a local exchange with the user; its Date header
// follows the exchange's own clock, so that skewing that clock skews what
// the doctor sees.
func newExchange(t *testing.T, opts traderapitest.Options) (*traderapitest.Exchange, *traderapitest.Server) {
	t.Helper()
	srv := traderapitest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.AddUser(user, password.Reveal()); err != nil {
		t.Fatal(err)
	}
	return srv.Exchange, srv
}

// setup starts an exchange and logs the user in through a session.Manager
// that stores the session in a memory store.
func setup(t *testing.T, opts traderapitest.Options) *testbed {
	t.Helper()
	ex, srv := newExchange(t, opts)
	tb := &testbed{ex: ex, srv: srv, store: keystore.NewMemory(),
		env: traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: srv.URL, Host: ex.Host()}}
	c, err := traderapi.NewClient(tb.env, traderapi.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	tb.client = c
	tb.login(t, c, tb.env.Name)
	return tb
}

// login logs the user in with c and stores the session under env.
func (tb *testbed) login(t *testing.T, c *traderapi.Client, env string) {
	t.Helper()
	m, err := session.New(session.Config{Environment: env, Client: c, Store: tb.store})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Login(t.Context(), user, password, ""); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// config is a doctor configuration for the testbed.
func (tb *testbed) config() Config {
	return Config{
		Env:        tb.env,
		HTTPClient: tb.srv.HTTPClient(),
		Store:      tb.store,
		Username:   user,
		Refresh:    TrialRefresh(tb.client, tb.store, tb.env.Name, user),
		Timeout:    5 * time.Second,
	}
}

// record returns the stored session.
func (tb *testbed) record(t *testing.T) *keystore.Record {
	t.Helper()
	rec, err := tb.store.Get(t.Context(), keystore.Key{Environment: tb.env.Name, Username: user})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// want fails unless c has the status and its Saw and Fix contain the
// given texts.
func want(t *testing.T, c Check, st Status, saw, fix string) {
	t.Helper()
	if c.Status != st {
		t.Errorf("%s: status %s, want %s\n  saw: %s\n  fix: %s", c.Name, c.Status, st, c.Saw, c.Fix)
		return
	}
	if !strings.Contains(c.Saw, saw) {
		t.Errorf("%s: saw %q, want it to contain %q", c.Name, c.Saw, saw)
	}
	if !strings.Contains(c.Fix, fix) {
		t.Errorf("%s: fix %q, want it to contain %q", c.Name, c.Fix, fix)
	}
	if st == Fail && c.Fix == "" {
		t.Errorf("%s: a failure without a fix: %s", c.Name, c.Saw)
	}
}

// check runs one check of a fresh run of cfg.
func check(t *testing.T, cfg Config, f func(*runner, context.Context) Check) Check {
	t.Helper()
	r := newRunner(cfg)
	defer r.close()
	return f(r, t.Context())
}

// clockAt returns a clock reading d away from the real time.
func clockAt(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// newServerFunc serves f on a loopback address until the test ends.
func newServerFunc(t *testing.T, f http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// jwtOf builds an unsigned-looking JWT from a JSON header and claims.
func jwtOf(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + enc([]byte("not-a-signature"))
}
