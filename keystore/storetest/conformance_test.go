package keystore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Token values every redaction check looks for.
const (
	testRefresh = "rt-eyJhbGciOiJIUzI1NiJ9.refresh-secret-value"
	testAccess  = "at-eyJhbGciOiJIUzI1NiJ9.access-secret-value"
	testOTPURL  = "otpauth://totp/PMX:alice?secret=JBSWY3DPEHPK3PXP&issuer=PMX"
)

// testRecord returns a full session record.
func testRecord(env, user string) *Record {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	return &Record{
		Environment: env, Username: user,
		RefreshToken: testRefresh, RefreshExpiry: t0.Add(7 * 24 * time.Hour),
		AccessToken: testAccess, AccessExpiry: t0.Add(time.Hour),
		SavedAt: t0,
	}
}

// uniqueEnv returns an environment name no other test uses, so that tests
// sharing one real keychain stay apart.
func uniqueEnv(base string) string { return base + "-" + strings.ToLower(rand.Text()[:10]) }

// sameRecord fails unless got equals want (times compared as instants).
func sameRecord(t *testing.T, got, want *Record) {
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

// mustGet returns the record under k, failing the test on error.
func mustGet(t *testing.T, s Store, k Key) *Record {
	t.Helper()
	r, err := s.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%s): %v", k, err)
	}
	return r
}

func mustSet(t *testing.T, s Store, k Key, r *Record) {
	t.Helper()
	if err := s.Set(t.Context(), k, r); err != nil {
		t.Fatalf("Set(%s): %v", k, err)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrNotFound (and not ErrUnavailable), got %v", err)
	}
}

// cleanupKeys deletes every key at the end of the test (for the real
// keychain, which outlives the test).
func cleanupKeys(t *testing.T, s Store, keys ...Key) {
	t.Cleanup(func() {
		for _, k := range keys {
			_ = s.Delete(t.Context(), k)
		}
	})
}

// testConformance runs the behaviour every Store owes its callers.
// newStore returns a fresh store for each subtest.
func testConformance(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("RoundTripAndOverwrite", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("preprod")
		k := Key{Environment: env, Username: "alice"}
		cleanupKeys(t, s, k)
		want := testRecord(env, "alice")
		mustSet(t, s, k, want)
		sameRecord(t, mustGet(t, s, k), want)

		next := testRecord(env, "alice")
		next.RefreshToken, next.AccessToken, next.AccessExpiry = "rt-second", "", time.Time{}
		mustSet(t, s, Key{Environment: env, Username: "alice", Item: ItemSession}, next)
		sameRecord(t, mustGet(t, s, k), next)
	})
	t.Run("NotFoundAndDelete", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("preprod")
		k := Key{Environment: env, Username: "bob"}
		_, err := s.Get(t.Context(), k)
		wantNotFound(t, err)
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
		mustSet(t, s, k, testRecord("", ""))
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(t.Context(), k)
		wantNotFound(t, err)
	})
	t.Run("LastUser", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("prod")
		alice, bob := Key{Environment: env, Username: "alice"}, Key{Environment: env, Username: "bob"}
		carolTOTP := Key{Environment: env, Username: "carol", Item: ItemTOTP}
		cleanupKeys(t, s, alice, bob, carolTOTP)
		_, err := s.LastUser(t.Context(), env)
		wantNotFound(t, err)
		mustSet(t, s, alice, testRecord(env, "alice"))
		wantLastUser(t, s, env, "alice")
		mustSet(t, s, bob, testRecord(env, "bob"))
		wantLastUser(t, s, env, "bob")
		mustSet(t, s, carolTOTP, &Record{OTPAuthURL: testOTPURL})
		wantLastUser(t, s, env, "bob") // a TOTP item is not a session
		if err := s.Delete(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		wantLastUser(t, s, env, "bob") // not the last user: kept
		if err := s.Delete(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
		// Deleting the last user's session (a logout) keeps the last
		// user, so that the next login defaults to them.
		wantLastUser(t, s, env, "bob")
		if _, err := s.Get(t.Context(), bob); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("EnvironmentsAndItemsApart", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		pre, prod := uniqueEnv("preprod"), uniqueEnv("prod")
		kPre, kProd := Key{Environment: pre, Username: "alice"}, Key{Environment: prod, Username: "alice"}
		kTOTP := Key{Environment: pre, Username: "alice", Item: ItemTOTP}
		cleanupKeys(t, s, kPre, kProd, kTOTP)
		mustSet(t, s, kPre, testRecord(pre, "alice"))
		_, err := s.Get(t.Context(), kProd)
		wantNotFound(t, err)
		_, err = s.Get(t.Context(), kTOTP)
		wantNotFound(t, err)
		_, err = s.LastUser(t.Context(), prod)
		wantNotFound(t, err)

		other := testRecord(prod, "alice")
		other.RefreshToken = "rt-prod"
		mustSet(t, s, kProd, other)
		totp := &Record{Environment: pre, Username: "alice", OTPAuthURL: testOTPURL}
		mustSet(t, s, kTOTP, totp)
		sameRecord(t, mustGet(t, s, kPre), testRecord(pre, "alice"))
		sameRecord(t, mustGet(t, s, kProd), other)
		sameRecord(t, mustGet(t, s, kTOTP), totp)
		if err := s.Delete(t.Context(), kProd); err != nil {
			t.Fatal(err)
		}
		sameRecord(t, mustGet(t, s, kPre), testRecord(pre, "alice"))
		wantLastUser(t, s, pre, "alice")
	})
	t.Run("CopiesInAndOut", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("dev01")
		k := Key{Environment: env, Username: "dave"}
		cleanupKeys(t, s, k)
		in := testRecord(env, "dave")
		mustSet(t, s, k, in)
		in.RefreshToken = "changed-after-set"
		out := mustGet(t, s, k)
		out.AccessToken = "changed-after-get"
		sameRecord(t, mustGet(t, s, k), testRecord(env, "dave"))
	})
	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("preprod")
		for _, tc := range []struct {
			k      Key
			r      *Record
			want   string
			badKey bool
		}{
			{Key{Environment: "", Username: "a"}, testRecord("", ""), "no environment", true},
			{Key{Environment: "pre:prod", Username: "a"}, testRecord("", ""), "letters, digits", true},
			{Key{Environment: "../etc", Username: "a"}, testRecord("", ""), "letters, digits", true},
			{Key{Environment: env, Username: ""}, testRecord("", ""), "no username", true},
			{Key{Environment: env, Username: "a\nb"}, testRecord("", ""), "control", true},
			{Key{Environment: env, Username: strings.Repeat("u", 300)}, testRecord("", ""), "over the limit", true},
			{Key{Environment: env, Username: "a", Item: "password"}, testRecord("", ""), "unknown item", true},
			{Key{Environment: env, Username: "a"}, nil, "nil record", false},
			{Key{Environment: env, Username: "a"}, testRecord("prod", "a"), "environment", false},
			{Key{Environment: env, Username: "a"}, testRecord(env, "b"), "for user", false},
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
		_, err := s.Get(t.Context(), Key{Environment: env, Username: "a"})
		wantNotFound(t, err) // nothing above was stored
		if _, err := s.LastUser(t.Context(), "a/b"); err == nil {
			t.Error("LastUser(a/b): no error")
		}
	})
	t.Run("Redaction", func(t *testing.T) {
		t.Parallel()
		s, env := newStore(t), uniqueEnv("preprod")
		k, kt := Key{Environment: env, Username: "eve"}, Key{Environment: env, Username: "eve", Item: ItemTOTP}
		cleanupKeys(t, s, k, kt)
		mustSet(t, s, k, testRecord(env, "eve"))
		mustSet(t, s, kt, &Record{OTPAuthURL: testOTPURL})
		r, rt := mustGet(t, s, k), mustGet(t, s, kt)
		assertRedacted(t, r, rt)
	})
	testConformanceCAS(t, newStore)
}

func wantLastUser(t *testing.T, s Store, env, want string) {
	t.Helper()
	got, err := s.LastUser(t.Context(), env)
	if err != nil || got != want {
		t.Fatalf("LastUser(%s) = %q, %v; want %q", env, got, err, want)
	}
}

// assertRedacted prints records every way a program might and checks that
// no token appears while the usernames do.
func assertRedacted(t *testing.T, recs ...*Record) {
	t.Helper()
	var out bytes.Buffer
	for _, r := range recs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&out, verb+"\n", r)
			fmt.Fprintf(&out, verb+"\n", *r)
		}
		fmt.Fprintln(&out, r, []*Record{r}, map[string]Record{"r": *r})
		slog.New(slog.NewJSONHandler(&out, nil)).Info("stored", "record", r)
		slog.New(slog.NewTextHandler(&out, nil)).Info("stored", "record", *r)
	}
	text := out.String()
	for _, secret := range []string{testRefresh, testAccess, testOTPURL, "refresh-secret", "access-secret", "JBSWY3DP"} {
		if strings.Contains(text, secret) {
			t.Fatalf("output holds %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "[REDACTED]") || !strings.Contains(text, recs[0].Username) {
		t.Fatalf("output lacks the redaction marker or the username:\n%s", text)
	}
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	testConformance(t, func(*testing.T) Store { return NewMemory() })
}

func TestFileConformance(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) Store { return newFile(t) })
}

// TestKeyringAdapterConformance runs the suite through the Keyring's own
// logic (service names, last user, encoding, size, error mapping) with a
// map in place of go-keyring, on every machine; TestKeyringConformance
// runs it against a real Secret Service.
func TestKeyringAdapterConformance(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) Store {
		return NewKeyring(withSecrets(newMapSecrets()), WithLockDir(filepath.Join(t.TempDir(), "locks")))
	})
}

func TestKeyringConformance(t *testing.T) {
	t.Parallel()
	realKeyring(t)
	testConformance(t, func(t *testing.T) Store {
		return NewKeyring(WithServicePrefix("pmx-login-test"), WithLockDir(filepath.Join(t.TempDir(), "locks")))
	})
}

// traderapiSecret converts a test value.
func traderapiSecret(s string) traderapi.Secret { return traderapi.Secret(s) }
