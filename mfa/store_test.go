package mfa_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
)

const (
	storeSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	// storeURL is written as an authenticator might: lower-case secret,
	// parameters in another order.
	storeURL = "otpauth://totp/Polymarket%20Exchange:bot1?period=30&secret=" + "jbswy3dpehpk3pxpjbswy3dpehpk3pxp" + "&issuer=Polymarket%20Exchange"
)

// stores returns a memory and a file keystore.
func stores(t *testing.T) map[string]keystore.Store {
	t.Helper()
	f, err := file.New(filepath.Join(t.TempDir(), "pmx-login"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]keystore.Store{"memory": keystore.NewMemory(), "file": f}
}

// TestSaveLoadSecret: a saved secret loads back as the same enrollment, and
// its generator makes the codes of that secret.
func TestSaveLoadSecret(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := mfa.SaveSecret(t.Context(), st, "preprod", "bot1", storeURL); err != nil {
				t.Fatalf("SaveSecret: %v", err)
			}
			e, err := mfa.LoadSecret(t.Context(), st, "preprod", "bot1")
			if err != nil {
				t.Fatalf("LoadSecret: %v", err)
			}
			if e.Secret != storeSecret || e.Account != "bot1" || e.Issuer != "Polymarket Exchange" || e.Period != 30 || e.Digits != otp.DigitsSix {
				t.Errorf("LoadSecret = %v", e)
			}
			at := time.Unix(1700000000, 0)
			g, err := mfa.LoadGenerator(t.Context(), st, "preprod", "bot1", mfa.WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatalf("LoadGenerator: %v", err)
			}
			want, _ := totp.GenerateCode(storeSecret, at)
			if got, err := g.Code(t.Context()); err != nil || got.Reveal() != want {
				t.Errorf("Code = ok %v, err %v", got.Reveal() == want, err)
			}
		})
	}
}

// TestSecretSameRecordAsCLI: SaveSecret writes the record the CLI's `mfa
// enroll --store-secret` writes (key {env, user, totp}, the canonical URL in
// OTPAuthURL), and LoadSecret reads a record written that way.
func TestSecretSameRecordAsCLI(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e, err := mfa.ParseURL(storeURL)
			if err != nil {
				t.Fatal(err)
			}
			if err := mfa.SaveSecret(t.Context(), st, "preprod", "bot1", storeURL); err != nil {
				t.Fatal(err)
			}
			rec, err := st.Get(t.Context(), keystore.Key{Environment: "preprod", Username: "bot1", Item: keystore.ItemTOTP})
			if err != nil || rec.OTPAuthURL != e.StoredURL() {
				t.Fatalf("stored record: canonical URL %v, err %v", err == nil && rec.OTPAuthURL == e.StoredURL(), err)
			}
			// As cli.mfaEnrollOptions.storeEnrollment writes it.
			cliRec := &keystore.Record{OTPAuthURL: e.StoredURL(), SavedAt: time.Now()}
			if err := st.Set(t.Context(), keystore.Key{Environment: "prod", Username: "bot2", Item: keystore.ItemTOTP}, cliRec); err != nil {
				t.Fatal(err)
			}
			if got, err := mfa.LoadSecret(t.Context(), st, "prod", "bot2"); err != nil || got.Secret != storeSecret {
				t.Fatalf("LoadSecret of the CLI's record: %v", err)
			}
			if _, err := st.Get(t.Context(), keystore.Key{Environment: "preprod", Username: "bot1"}); !errors.Is(err, keystore.ErrNotFound) {
				t.Errorf("SaveSecret touched the session entry: %v", err)
			}
		})
	}
}

// TestSecretErrors: nothing stored is ErrNotFound; a bad URL stores nothing
// and its error does not quote the secret; DeleteSecret removes it.
func TestSecretErrors(t *testing.T) {
	t.Parallel()
	st := keystore.NewMemory()
	if _, err := mfa.LoadSecret(t.Context(), st, "preprod", "bot1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("LoadSecret with nothing stored = %v, want ErrNotFound", err)
	}
	bad := traderapi.Secret("otpauth://hotp/x:bot1?secret=" + storeSecret + "&counter=0")
	err := mfa.SaveSecret(t.Context(), st, "preprod", "bot1", bad)
	if err == nil || strings.Contains(err.Error(), storeSecret) {
		t.Fatalf("SaveSecret(HOTP URL) = %v, want an error without the secret", err)
	}
	if _, err := mfa.LoadGenerator(t.Context(), st, "preprod", "bot1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a bad URL was stored: %v", err)
	}
	if err := st.Set(t.Context(), mfa.SecretKey("preprod", "bot1"), &keystore.Record{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mfa.LoadSecret(t.Context(), st, "preprod", "bot1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("LoadSecret of an entry without a URL = %v, want ErrNotFound", err)
	}
	if err := mfa.SaveSecret(t.Context(), st, "preprod", "bot1", storeURL); err != nil {
		t.Fatal(err)
	}
	if err := mfa.DeleteSecret(t.Context(), st, "preprod", "bot1"); err != nil {
		t.Fatal(err)
	}
	if _, err := mfa.LoadSecret(t.Context(), st, "preprod", "bot1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("LoadSecret after DeleteSecret = %v", err)
	}
	if err := mfa.DeleteSecret(t.Context(), st, "preprod", "bot1"); err != nil {
		t.Errorf("DeleteSecret of nothing = %v", err)
	}
}
