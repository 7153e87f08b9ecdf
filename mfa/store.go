package mfa

import (
	"context"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// SecretStore is what [SaveSecret], [LoadSecret] and [DeleteSecret] need of
// a keystore; every [keystore.Store] backend is one.
type SecretStore interface {
	Get(ctx context.Context, k keystore.Key) (*keystore.Record, error)
	Set(ctx context.Context, k keystore.Key, r *keystore.Record) error
	Delete(ctx context.Context, k keystore.Key) error
}

// SecretKey is the keystore key of user's TOTP secret in env: the entry
// `pmx-login mfa enroll --store-secret` writes and `pmx-login login` and
// `mfa code` read.
func SecretKey(env, user string) keystore.Key {
	return keystore.Key{Environment: env, Username: user, Item: keystore.ItemTOTP}
}

// SaveSecret stores the TOTP secret of an otpauth:// URL (as enroll_mfa
// returns it, or as an authenticator exports it) for user in env, in the
// same record `pmx-login mfa enroll --store-secret` writes, so that the CLI
// and a bot share it. The URL is checked first ([ParseURL]) and stored in
// its canonical form ([Enrollment.StoredURL]); a bad URL stores nothing.
// It replaces a secret stored before. Keeping the secret beside the session
// puts both factors in one place: see [StoreSecretWarning].
func SaveSecret(ctx context.Context, st SecretStore, env, user string, otpauthURL traderapi.Secret) error {
	e, err := ParseURL(otpauthURL.Reveal())
	if err != nil {
		return err
	}
	rec := &keystore.Record{OTPAuthURL: e.StoredURL(), SavedAt: time.Now().UTC().Round(time.Second)}
	if err := st.Set(ctx, SecretKey(env, user), rec); err != nil {
		return fmt.Errorf("mfa: storing the TOTP secret of %q in %s: %w", user, env, err)
	}
	return nil
}

// LoadSecret reads the TOTP enrollment stored for user in env by
// [SaveSecret] or `pmx-login mfa enroll --store-secret`. With none stored
// the error matches [keystore.ErrNotFound]; a stored URL that no longer
// parses is an error naming the user, never quoting the secret.
func LoadSecret(ctx context.Context, st SecretStore, env, user string) (*Enrollment, error) {
	rec, err := st.Get(ctx, SecretKey(env, user))
	if err != nil {
		return nil, fmt.Errorf("mfa: reading the TOTP secret of %q in %s: %w", user, env, err)
	}
	if rec.OTPAuthURL.IsZero() {
		return nil, fmt.Errorf("mfa: the stored TOTP entry of %q in %s has no secret: %w", user, env, keystore.ErrNotFound)
	}
	e, err := ParseURL(rec.OTPAuthURL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("mfa: the stored TOTP secret of %q in %s is unusable: %w", user, env, err)
	}
	return e, nil
}

// LoadGenerator is [LoadSecret] followed by [NewGenerator]: the code
// source of an unattended bot. Keep one Generator per process and user, so
// that it never hands out a time window twice.
func LoadGenerator(ctx context.Context, st SecretStore, env, user string, opts ...GeneratorOption) (*Generator, error) {
	e, err := LoadSecret(ctx, st, env, user)
	if err != nil {
		return nil, err
	}
	return NewGenerator(e, opts...)
}

// DeleteSecret removes the TOTP secret stored for user in env; removing an
// absent one is not an error.
func DeleteSecret(ctx context.Context, st SecretStore, env, user string) error {
	if err := st.Delete(ctx, SecretKey(env, user)); err != nil {
		return fmt.Errorf("mfa: removing the TOTP secret of %q in %s: %w", user, env, err)
	}
	return nil
}
