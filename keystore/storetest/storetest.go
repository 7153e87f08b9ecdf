package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
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

func MustSet(t *testing.T, s keystore.Store, k keystore.Key, r *keystore.Record) {
	t.Helper()
	if err := s.Set(t.Context(), k, r); err != nil {
		t.Fatalf("Set(%s): %v", k, err)
	}
}

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

// TestStore runs the behaviour every keystore.Store owes its callers.
// newStore returns a fresh store for each subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) keystore.Store) {
	t.Run("RoundTripAndOverwrite", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("preprod")
		k := keystore.Key{Environment: env, Username: "alice"}
		CleanupKeys(t, s, k)
		want := Record(env, "alice")
		MustSet(t, s, k, want)
		SameRecord(t, MustGet(t, s, k), want)

		next := Record(env, "alice")
		next.RefreshToken, next.AccessToken, next.AccessExpiry = "rt-second", "", time.Time{}
		MustSet(t, s, keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemSession}, next)
		SameRecord(t, MustGet(t, s, k), next)
	})
	t.Run("NotFoundAndDelete", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("preprod")
		k := keystore.Key{Environment: env, Username: "bob"}
		_, err := s.Get(t.Context(), k)
		WantNotFound(t, err)
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
		MustSet(t, s, k, Record("", ""))
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(t.Context(), k)
		WantNotFound(t, err)
	})
	t.Run("LastUser", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("prod")
		alice, bob := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "bob"}
		carolTOTP := keystore.Key{Environment: env, Username: "carol", Item: keystore.ItemTOTP}
		CleanupKeys(t, s, alice, bob, carolTOTP)
		_, err := s.LastUser(t.Context(), env)
		WantNotFound(t, err)
		MustSet(t, s, alice, Record(env, "alice"))
		WantLastUser(t, s, env, "alice")
		MustSet(t, s, bob, Record(env, "bob"))
		WantLastUser(t, s, env, "bob")
		MustSet(t, s, carolTOTP, &keystore.Record{OTPAuthURL: OTPURL})
		WantLastUser(t, s, env, "bob") // a TOTP item is not a session
		if err := s.Delete(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		WantLastUser(t, s, env, "bob") // not the last user: kept
		if err := s.Delete(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
		// Deleting the last user's session (a logout) keeps the last
		// user, so that the next login defaults to them.
		WantLastUser(t, s, env, "bob")
		if _, err := s.Get(t.Context(), bob); !errors.Is(err, keystore.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("EnvironmentsAndItemsApart", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		pre, prod := UniqueEnv("preprod"), UniqueEnv("prod")
		kPre, kProd := keystore.Key{Environment: pre, Username: "alice"}, keystore.Key{Environment: prod, Username: "alice"}
		kTOTP := keystore.Key{Environment: pre, Username: "alice", Item: keystore.ItemTOTP}
		CleanupKeys(t, s, kPre, kProd, kTOTP)
		MustSet(t, s, kPre, Record(pre, "alice"))
		_, err := s.Get(t.Context(), kProd)
		WantNotFound(t, err)
		_, err = s.Get(t.Context(), kTOTP)
		WantNotFound(t, err)
		_, err = s.LastUser(t.Context(), prod)
		WantNotFound(t, err)

		other := Record(prod, "alice")
		other.RefreshToken = "rt-prod"
		MustSet(t, s, kProd, other)
		totp := &keystore.Record{Environment: pre, Username: "alice", OTPAuthURL: OTPURL}
		MustSet(t, s, kTOTP, totp)
		SameRecord(t, MustGet(t, s, kPre), Record(pre, "alice"))
		SameRecord(t, MustGet(t, s, kProd), other)
		SameRecord(t, MustGet(t, s, kTOTP), totp)
		if err := s.Delete(t.Context(), kProd); err != nil {
			t.Fatal(err)
		}
		SameRecord(t, MustGet(t, s, kPre), Record(pre, "alice"))
		WantLastUser(t, s, pre, "alice")
	})
	t.Run("CopiesInAndOut", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("dev01")
		k := keystore.Key{Environment: env, Username: "dave"}
		CleanupKeys(t, s, k)
		in := Record(env, "dave")
		MustSet(t, s, k, in)
		in.RefreshToken = "changed-after-set"
		out := MustGet(t, s, k)
		out.AccessToken = "changed-after-get"
		SameRecord(t, MustGet(t, s, k), Record(env, "dave"))
	})
	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("preprod")
		for _, tc := range []struct {
			k      keystore.Key
			r      *keystore.Record
			want   string
			badKey bool
		}{
			{keystore.Key{Environment: "", Username: "a"}, Record("", ""), "no environment", true},
			{keystore.Key{Environment: "pre:prod", Username: "a"}, Record("", ""), "letters, digits", true},
			{keystore.Key{Environment: "../etc", Username: "a"}, Record("", ""), "letters, digits", true},
			{keystore.Key{Environment: env, Username: ""}, Record("", ""), "no username", true},
			{keystore.Key{Environment: env, Username: "a\nb"}, Record("", ""), "control", true},
			{keystore.Key{Environment: env, Username: strings.Repeat("u", 300)}, Record("", ""), "over the limit", true},
			{keystore.Key{Environment: env, Username: "a", Item: "password"}, Record("", ""), "unknown item", true},
			{keystore.Key{Environment: env, Username: "a"}, nil, "nil record", false},
			{keystore.Key{Environment: env, Username: "a"}, Record("prod", "a"), "environment", false},
			{keystore.Key{Environment: env, Username: "a"}, Record(env, "b"), "for user", false},
		} {
			err := s.Set(t.Context(), tc.k, tc.r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Set(%+v): got %v, want an error containing %q", tc.k, err, tc.want)
			}
			if !tc.badKey {
				continue
			}
			if _, err := s.Get(t.Context(), tc.k); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Get(%+v): got %v, want an error containing %q", tc.k, err, tc.want)
			}
			if err := s.Delete(t.Context(), tc.k); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Delete(%+v): got %v, want an error containing %q", tc.k, err, tc.want)
			}
		}
		_, err := s.Get(t.Context(), keystore.Key{Environment: env, Username: "a"})
		WantNotFound(t, err) // nothing above was stored
		if _, err := s.LastUser(t.Context(), "a/b"); err == nil {
			t.Error("LastUser(a/b): no error")
		}
	})
	t.Run("Redaction", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), UniqueEnv("preprod")
		k, kt := keystore.Key{Environment: env, Username: "eve"}, keystore.Key{Environment: env, Username: "eve", Item: keystore.ItemTOTP}
		CleanupKeys(t, s, k, kt)
		MustSet(t, s, k, Record(env, "eve"))
		MustSet(t, s, kt, &keystore.Record{OTPAuthURL: OTPURL})
		r, rt := MustGet(t, s, k), MustGet(t, s, kt)
		assertRedacted(t, r, rt)
	})
	testCAS(t, newStore)
}

// WantLastUser fails unless s records want as env's last user.
func WantLastUser(t *testing.T, s keystore.Store, env, want string) {
	t.Helper()
	got, err := s.LastUser(t.Context(), env)
	if err != nil || got != want {
		t.Fatalf("LastUser(%s) = %q, %v; want %q", env, got, err, want)
	}
}

// assertRedacted prints records every way a program might and checks that
// no token appears while the usernames do.
func assertRedacted(t *testing.T, recs ...*keystore.Record) {
	t.Helper()
	var out bytes.Buffer
	for _, r := range recs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&out, verb+"\n", r)
			fmt.Fprintf(&out, verb+"\n", *r)
		}
		fmt.Fprintln(&out, r, []*keystore.Record{r}, map[string]keystore.Record{"r": *r})
		slog.New(slog.NewJSONHandler(&out, nil)).Info("stored", "record", r)
		slog.New(slog.NewTextHandler(&out, nil)).Info("stored", "record", *r)
	}
	text := out.String()
	for _, secret := range []string{Refresh, Access, OTPURL, "refresh-secret", "access-secret", "JBSWY3DP"} {
		if strings.Contains(text, secret) {
			t.Fatalf("output holds %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "[REDACTED]") || !strings.Contains(text, recs[0].Username) {
		t.Fatalf("output lacks the redaction marker or the username:\n%s", text)
	}
}

// traderapi.Secret converts a test value.

// Bench measures one Set and one Get of a full session record on s; each
// backend's benchmarks call it.
func Bench(b *testing.B, s keystore.Store) {
	k := keystore.Key{Environment: UniqueEnv("bench"), Username: "alice"}
	r := Record("", "")
	b.Cleanup(func() { _ = s.Delete(b.Context(), k) })
	for b.Loop() {
		if err := s.Set(b.Context(), k, r); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(b.Context(), k); err != nil {
			b.Fatal(err)
		}
	}
}
