package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// TestStore runs the behaviour every keystore.Store owes its callers.
// newStore returns a fresh store for each subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) keystore.Store) {
	t.Run("RoundTripAndOverwrite", func(t *testing.T) {
		t.Parallel()
		s, k := fresh(t, newStore, "preprod", "alice")
		env := k.Environment
		want := storehelp.Record(env, "alice")
		storehelp.MustSet(t, s, k, want)
		storehelp.SameRecord(t, storehelp.MustGet(t, s, k), want)

		next := storehelp.Record(env, "alice")
		next.RefreshToken, next.AccessToken, next.AccessExpiry = "rt-second", "", time.Time{}
		storehelp.MustSet(t, s, keystore.Key{Environment: env, Username: "alice", Item: keystore.ItemSession}, next)
		storehelp.SameRecord(t, storehelp.MustGet(t, s, k), next)
	})
	t.Run("NotFoundAndDelete", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("preprod")
		k := keystore.Key{Environment: env, Username: "bob"}
		_, err := s.Get(t.Context(), k)
		storehelp.WantNotFound(t, err)
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
		storehelp.MustSet(t, s, k, storehelp.Record("", ""))
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(t.Context(), k)
		storehelp.WantNotFound(t, err)
	})
	t.Run("LastUser", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("prod")
		alice, bob := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "bob"}
		carolTOTP := keystore.Key{Environment: env, Username: "carol", Item: keystore.ItemTOTP}
		storehelp.CleanupKeys(t, s, alice, bob, carolTOTP)
		_, err := s.LastUser(t.Context(), env)
		storehelp.WantNotFound(t, err)
		storehelp.MustSet(t, s, alice, storehelp.Record(env, "alice"))
		storehelp.WantLastUser(t, s, env, "alice")
		storehelp.MustSet(t, s, bob, storehelp.Record(env, "bob"))
		storehelp.WantLastUser(t, s, env, "bob")
		storehelp.MustSet(t, s, carolTOTP, &keystore.Record{OTPAuthURL: storehelp.OTPURL})
		storehelp.WantLastUser(t, s, env, "bob") // a TOTP item is not a session
		if err := s.Delete(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		storehelp.WantLastUser(t, s, env, "bob") // not the last user: kept
		if err := s.Delete(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
		// Deleting the last user's session (a logout) keeps the last
		// user, so that the next login defaults to them.
		storehelp.WantLastUser(t, s, env, "bob")
		if _, err := s.Get(t.Context(), bob); !errors.Is(err, keystore.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("EnvironmentsAndItemsApart", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		pre, prod := storehelp.UniqueEnv("preprod"), storehelp.UniqueEnv("prod")
		kPre, kProd := keystore.Key{Environment: pre, Username: "alice"}, keystore.Key{Environment: prod, Username: "alice"}
		kTOTP := keystore.Key{Environment: pre, Username: "alice", Item: keystore.ItemTOTP}
		storehelp.CleanupKeys(t, s, kPre, kProd, kTOTP)
		storehelp.MustSet(t, s, kPre, storehelp.Record(pre, "alice"))
		_, err := s.Get(t.Context(), kProd)
		storehelp.WantNotFound(t, err)
		_, err = s.Get(t.Context(), kTOTP)
		storehelp.WantNotFound(t, err)
		_, err = s.LastUser(t.Context(), prod)
		storehelp.WantNotFound(t, err)

		other := storehelp.Record(prod, "alice")
		other.RefreshToken = "rt-prod"
		storehelp.MustSet(t, s, kProd, other)
		totp := &keystore.Record{Environment: pre, Username: "alice", OTPAuthURL: storehelp.OTPURL}
		storehelp.MustSet(t, s, kTOTP, totp)
		storehelp.SameRecord(t, storehelp.MustGet(t, s, kPre), storehelp.Record(pre, "alice"))
		storehelp.SameRecord(t, storehelp.MustGet(t, s, kProd), other)
		storehelp.SameRecord(t, storehelp.MustGet(t, s, kTOTP), totp)
		if err := s.Delete(t.Context(), kProd); err != nil {
			t.Fatal(err)
		}
		storehelp.SameRecord(t, storehelp.MustGet(t, s, kPre), storehelp.Record(pre, "alice"))
		storehelp.WantLastUser(t, s, pre, "alice")
	})
	t.Run("CopiesInAndOut", func(t *testing.T) {
		t.Parallel()
		s, k := fresh(t, newStore, "dev01", "dave")
		env := k.Environment
		in := storehelp.Record(env, "dave")
		storehelp.MustSet(t, s, k, in)
		in.RefreshToken = "changed-after-set"
		out := storehelp.MustGet(t, s, k)
		out.AccessToken = "changed-after-get"
		storehelp.SameRecord(t, storehelp.MustGet(t, s, k), storehelp.Record(env, "dave"))
	})
	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("preprod")
		for _, tc := range []struct {
			k      keystore.Key
			r      *keystore.Record
			want   string
			badKey bool
		}{
			{keystore.Key{Environment: "", Username: "a"}, storehelp.Record("", ""), "no environment", true},
			{keystore.Key{Environment: "pre:prod", Username: "a"}, storehelp.Record("", ""), "letters, digits", true},
			{keystore.Key{Environment: "../etc", Username: "a"}, storehelp.Record("", ""), "letters, digits", true},
			{keystore.Key{Environment: env, Username: ""}, storehelp.Record("", ""), "no username", true},
			{keystore.Key{Environment: env, Username: "a\nb"}, storehelp.Record("", ""), "control", true},
			{keystore.Key{Environment: env, Username: strings.Repeat("u", 300)}, storehelp.Record("", ""), "over the limit", true},
			{keystore.Key{Environment: env, Username: "a", Item: "password"}, storehelp.Record("", ""), "unknown item", true},
			{keystore.Key{Environment: env, Username: "a"}, nil, "nil record", false},
			{keystore.Key{Environment: env, Username: "a"}, storehelp.Record("prod", "a"), "environment", false},
			{keystore.Key{Environment: env, Username: "a"}, storehelp.Record(env, "b"), "for user", false},
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
		storehelp.WantNotFound(t, err) // nothing above was stored
		if _, err := s.LastUser(t.Context(), "a/b"); err == nil {
			t.Error("LastUser(a/b): no error")
		}
	})
	t.Run("Redaction", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), storehelp.UniqueEnv("preprod")
		k, kt := keystore.Key{Environment: env, Username: "eve"}, keystore.Key{Environment: env, Username: "eve", Item: keystore.ItemTOTP}
		storehelp.CleanupKeys(t, s, k, kt)
		storehelp.MustSet(t, s, k, storehelp.Record(env, "eve"))
		storehelp.MustSet(t, s, kt, &keystore.Record{OTPAuthURL: storehelp.OTPURL})
		r, rt := storehelp.MustGet(t, s, k), storehelp.MustGet(t, s, kt)
		assertRedacted(t, r, rt)
	})
	testCAS(t, newStore)
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
	for _, secret := range []string{storehelp.Refresh, storehelp.Access, storehelp.OTPURL, "refresh-secret", "access-secret", "JBSWY3DP"} {
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
	k := keystore.Key{Environment: storehelp.UniqueEnv("bench"), Username: "alice"}
	r := storehelp.Record("", "")
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

// fresh returns a new store and the key of user in a fresh environment
// named after env, whose entries are removed when the test ends.
func fresh(t *testing.T, newStore func(t *testing.T) keystore.Store, env, user string) (keystore.Store, keystore.Key) {
	t.Helper()
	s := newStore(t)
	k := keystore.Key{Environment: storehelp.UniqueEnv(env), Username: user}
	storehelp.CleanupKeys(t, s, k)
	return s, k
}
