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
}

// String returns a one-line summary with every secret redacted.
func (r Record) String() string {
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

// GoString returns the same redacted summary, for %#v.
func (r Record) GoString() string { return r.String() }

// Format implements [fmt.Formatter] so that every verb prints the redacted
// summary.
func (r Record) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

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
	return slog.GroupValue(attrs...)
}

// withoutAccessCache returns a copy of r without the cached access token.
func (r Record) withoutAccessCache() Record {
	r.AccessToken, r.AccessExpiry = "", time.Time{}
	return r
}
