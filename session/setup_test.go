package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	testUser     = "trader1"
	testPassword = traderapi.Secret("correct-horse-42-battery")
)

// fixture is a local exchange with one user, a client and a manager.
type fixture struct {
	srv    *traderapitest.Server
	client *traderapi.Client
	store  *keystore.Memory
	m      *session.Manager
}

// setup starts a local exchange with the given options, registers testUser
// and returns a manager wired to it with a fast retry policy.
func setup(t *testing.T, opts traderapitest.Options, cfg session.Config) *fixture {
	t.Helper()
	srv := traderapitest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	f := &fixture{srv: srv, client: client, store: keystore.NewMemory()}
	cfg.Client = client
	if cfg.Store == nil {
		cfg.Store = f.store
	}
	if cfg.Retry == (session.Retry{}) {
		cfg.Retry = session.Retry{Attempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxElapsed: 5 * time.Second}
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	f.m = m
	return f
}

func (f *fixture) login(t *testing.T) traderapi.Secret {
	t.Helper()
	if err := f.m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatalf("Login: %v", err)
	}
	tok, err := f.m.Token(t.Context())
	if err != nil || tok == "" {
		t.Fatalf("Token after login: %q, %v", tok, err)
	}
	return tok
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func storedRecord(t *testing.T, s *keystore.Memory, env string) (*keystore.Record, error) {
	t.Helper()
	return s.Get(context.Background(), keystore.Key{Environment: env, Username: testUser, Item: keystore.ItemSession})
}

// wantTombstone: the ended session's record holds no token any more, and
// a new manager resuming it learns that the session expired.
func wantTombstone(t *testing.T, s *keystore.Memory, env string) {
	t.Helper()
	rec, err := storedRecord(t, s, env)
	if err != nil || rec.RefreshToken != "" || rec.AccessToken != "" {
		t.Fatalf("the ended session's record: %v, want a tombstone without tokens", err)
	}
}

// wantLoggedOut: the session's record is the tombstone a logout leaves: no
// token, marked logged out.
func wantLoggedOut(t *testing.T, s interface {
	Get(context.Context, keystore.Key) (*keystore.Record, error)
}, k keystore.Key) {
	t.Helper()
	rec, err := s.Get(context.Background(), k)
	if err != nil || !rec.LoggedOut || rec.RefreshToken != "" || rec.AccessToken != "" {
		t.Fatalf("the stored session after logout: %v, want a logged-out record without tokens", err)
	}
}

// totpSecret is the base32 secret of an enrollment URL (what
// traderapitest's EnableMFA returns), for computing codes.
func totpSecret(t *testing.T, url traderapi.Secret) string {
	t.Helper()
	e, err := mfa.ParseURL(url.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	return e.Secret.Reveal()
}
