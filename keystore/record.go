package keystore

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Record is what is stored under a [Key]: the session's tokens and their
// expiries, never a password. It prints with its tokens redacted through
// fmt (%v, %+v, %#v) and log/slog.
type Record struct {
	// Environment and Username are the key's; [Store.Set] fills them in.
	Environment string
	Username    string
	// RefreshToken is the session's refresh token and RefreshExpiry the
	// time it expires.
	RefreshToken  traderapi.Secret
	RefreshExpiry time.Time
	// AccessToken is a cache of the current access token, so that repeated
	// runs need not refresh each time; it may be empty. The keyring backend
	// drops it when the record would not fit the keychain.
	AccessToken  traderapi.Secret
	AccessExpiry time.Time
	// OTPAuthURL is the TOTP enrollment URL (otpauth://...), for
	// [ItemTOTP] entries only.
	OTPAuthURL traderapi.Secret
	// MFA records that the login that began the session used a one-time
	// password (the account has MFA on).
	MFA bool
	// SavedAt is when the record was stored, as the caller sets it (stores
	// keep it as given).
	SavedAt time.Time
	// Generation orders the versions of a session: every write carries a
	// higher generation than the record it replaces (0: written before
	// generations existed). See [Same] and [Store.CompareAndSwap].
	Generation uint64
	// AccessLifetime is the cached access token's lifetime as issued (0:
	// unknown), so that a process resuming the session refreshes it at the
	// same point as the process that stored it.
	AccessLifetime time.Duration
	// LoggedOut marks the record a logout left in place of a session: no
	// tokens, so that every process sharing the store learns the session
	// was logged out (a record that is simply gone may be a store that
	// lost its data). A record without tokens and without LoggedOut is
	// a session that ended (its refresh token was rejected or expired).
	LoggedOut bool
	// LastOTPStep is the last TOTP time step (Unix time / period) a login
	// or confirmation of this user used, so that no process offers the
	// same one-time code twice (0: none recorded).
	LastOTPStep int64
}

// Ended reports whether r is the tombstone an ended session left in the
// store: no refresh token (see [Record.LoggedOut]). Only session items
// leave tombstones.
func (r Record) Ended() bool { return r.RefreshToken == "" && r.OTPAuthURL == "" }

// Same reports whether a and b are the same version of an entry: the same
// generation, refresh token, access token and (for a TOTP item, which has
// no tokens) enrollment URL. Two nil records are the same.
func Same(a, b *Record) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Generation == b.Generation && a.RefreshToken == b.RefreshToken &&
		a.AccessToken == b.AccessToken && a.OTPAuthURL == b.OTPAuthURL
}

// summary is a one-line summary with every secret redacted.
func (r Record) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keystore.Record{Environment: %q, Username: %q", r.Environment, r.Username)
	writeSecret(&b, "RefreshToken", r.RefreshToken, r.RefreshExpiry)
	writeSecret(&b, "AccessToken", r.AccessToken, r.AccessExpiry)
	if !r.OTPAuthURL.IsZero() {
		b.WriteString(", OTPAuthURL: " + r.OTPAuthURL.String())
	}
	if r.MFA {
		b.WriteString(", MFA: true")
	}
	if r.Generation != 0 {
		fmt.Fprintf(&b, ", Generation: %d", r.Generation)
	}
	if r.LoggedOut {
		b.WriteString(", LoggedOut: true")
	}
	if !r.SavedAt.IsZero() {
		b.WriteString(", SavedAt: " + r.SavedAt.Format(time.RFC3339))
	}
	b.WriteString("}")
	return b.String()
}

func writeSecret(b *strings.Builder, name string, s traderapi.Secret, exp time.Time) {
	if s.IsZero() && exp.IsZero() {
		return
	}
	fmt.Fprintf(b, ", %s: %s", name, s.String())
	if !exp.IsZero() {
		fmt.Fprintf(b, " (expires %s)", exp.Format(time.RFC3339))
	}
}

// Format implements [fmt.Formatter] so that every verb prints the redacted
// summary.
func (r Record) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.summary())) }

// LogValue implements [slog.LogValuer]: a group with the secrets redacted.
func (r Record) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("environment", r.Environment),
		slog.String("username", r.Username),
	}
	if !r.RefreshToken.IsZero() {
		attrs = append(attrs, slog.Any("refresh_token", r.RefreshToken), slog.Time("refresh_expiry", r.RefreshExpiry))
	}
	if !r.AccessToken.IsZero() {
		attrs = append(attrs, slog.Any("access_token", r.AccessToken), slog.Time("access_expiry", r.AccessExpiry))
	}
	if !r.OTPAuthURL.IsZero() {
		attrs = append(attrs, slog.Any("otpauth_url", r.OTPAuthURL))
	}
	if !r.SavedAt.IsZero() {
		attrs = append(attrs, slog.Time("saved_at", r.SavedAt))
	}
	if r.Generation != 0 {
		attrs = append(attrs, slog.Uint64("generation", r.Generation))
	}
	return slog.GroupValue(attrs...)
}
