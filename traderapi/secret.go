package traderapi

import (
	"fmt"
	"log/slog"
)

// redacted is what every secret prints as.
const redacted = "[REDACTED]"

// Secret is a string that must never be printed or logged: a password, an
// access or refresh token, an OTP code, a registration token or an enrollment
// URL. It prints as "[REDACTED]" with every fmt verb, with %#v and through
// log/slog; only [Secret.Reveal] and JSON encoding give its value.
type Secret string

// Reveal returns the secret's value. Call it only where the value goes on the
// wire or into the keychain.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[REDACTED]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go-syntax form for %#v.
func (s Secret) GoString() string { return `traderapi.Secret("` + s.String() + `")` }

// Format implements [fmt.Formatter] so that no verb prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// LogValue implements [slog.LogValuer].
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Prefix returns at most n leading characters followed by "…", for telling
// tokens apart in diagnostics without revealing them. n is capped at 8.
func (s Secret) Prefix(n int) string {
	n = min(n, 8)
	if len(s) <= n*2 {
		return s.String()
	}
	return string(s[:n]) + "…"
}
