// Package storehelp holds the test records and assertions that the
// keystore's conformance suite (storetest) and the backends' own tests
// share. It is internal: a backend outside this module needs only
// storetest.TestStore.
package storehelp

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Token values every redaction check looks for: [Record] holds them.
const (
	Refresh = "rt-eyJhbGciOiJIUzI1NiJ9.refresh-secret-value"
	Access  = "at-eyJhbGciOiJIUzI1NiJ9.access-secret-value"
	OTPURL  = "otpauth://totp/PMX:alice?secret=JBSWY3DPEHPK3PXP&issuer=PMX"
)

// Record returns a full session record.
func Record(env, user string) *keystore.Record {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	return &keystore.Record{
		Environment: env, Username: user,
		RefreshToken: Refresh, RefreshExpiry: t0.Add(7 * 24 * time.Hour),
		AccessToken: Access, AccessExpiry: t0.Add(time.Hour),
		SavedAt: t0,
	}
}

// UniqueEnv returns an environment name no other test uses, so that tests
// sharing one real keychain stay apart.
func UniqueEnv(base string) string { return base + "-" + strings.ToLower(rand.Text()[:10]) }

// SameRecord fails unless got equals want (times compared as instants).
func SameRecord(t *testing.T, got, want *keystore.Record) {
	t.Helper()
	if got.Environment != want.Environment || got.Username != want.Username ||
		got.RefreshToken != want.RefreshToken || !got.RefreshExpiry.Equal(want.RefreshExpiry) ||
		got.AccessToken != want.AccessToken || !got.AccessExpiry.Equal(want.AccessExpiry) ||
		got.OTPAuthURL != want.OTPAuthURL || !got.SavedAt.Equal(want.SavedAt) ||
		got.Generation != want.Generation || got.AccessLifetime != want.AccessLifetime ||
		got.LastOTPStep != want.LastOTPStep || got.LoggedOut != want.LoggedOut || got.MFA != want.MFA {
		t.Fatalf("record mismatch:\n got %s (rt %q, at %q)\nwant %s (rt %q, at %q)",
			got, got.RefreshToken.Reveal(), got.AccessToken.Reveal(), want, want.RefreshToken.Reveal(), want.AccessToken.Reveal())
	}
}

// MustGet returns the record under k, failing the test on error.
func MustGet(t *testing.T, s keystore.Store, k keystore.Key) *keystore.Record {
	t.Helper()
	r, err := s.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%s): %v", k, err)
	}
	return r
}

// MustSet stores r under k, failing the test on error.
func MustSet(t *testing.T, s keystore.Store, k keystore.Key, r *keystore.Record) {
	t.Helper()
	if err := s.Set(t.Context(), k, r); err != nil {
		t.Fatalf("Set(%s): %v", k, err)
	}
}

// WantNotFound fails unless err is ErrNotFound (and not ErrUnavailable).
func WantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, keystore.ErrNotFound) || errors.Is(err, keystore.ErrUnavailable) {
		t.Fatalf("want ErrNotFound (and not ErrUnavailable), got %v", err)
	}
}

// CleanupKeys deletes every key at the end of the test (for the real
// keychain, which outlives the test).
func CleanupKeys(t *testing.T, s keystore.Store, keys ...keystore.Key) {
	t.Cleanup(func() {
		for _, k := range keys {
			_ = s.Delete(t.Context(), k)
		}
	})
}

// WantLastUser fails unless s records want as env's last user.
func WantLastUser(t *testing.T, s keystore.Store, env, want string) {
	t.Helper()
	got, err := s.LastUser(t.Context(), env)
	if err != nil || got != want {
		t.Fatalf("LastUser(%s) = %q, %v; want %q", env, got, err, want)
	}
}

// Generation returns the test record of env/user at Generation gen, with
// tokens that differ per Generation.
func Generation(env, user string, gen uint64) *keystore.Record {
	r := Record(env, user)
	r.Generation = gen
	r.RefreshToken += traderapi.Secret(strings.Repeat("g", int(gen)))
	return r
}
