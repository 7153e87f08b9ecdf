package mfa

import (
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/pquerna/otp"

	"github.com/pmx-login/pmx-login/traderapi"
)

// StoreSecretWarning is shown before the TOTP secret is kept in the keystore
// (--store-secret).
const StoreSecretWarning = "Storing the TOTP secret next to your password-less session puts both factors " +
	"in one place: anyone who can read your keychain can log in as you. Use it only for unattended bots."

// Defaults of an otpauth:// URL that leaves a parameter out (Google
// Authenticator's key URI format).
const (
	DefaultPeriod = 30
	DefaultDigits = otp.DigitsSix
)

// decodeSecret decodes a normalised secret (upper case, no padding) as
// pquerna/otp will: padded to a multiple of 8 characters, standard base32.
// (Go's unpadded decoder accepts lengths that padding makes invalid.)
func decodeSecret(s string) ([]byte, error) {
	if n := len(s) % 8; n != 0 {
		s += strings.Repeat("=", 8-n)
	}
	return base32.StdEncoding.DecodeString(s)
}

// Enrollment is a parsed otpauth://totp/ URL: what an authenticator app needs
// to produce the account's codes. Secret and URL are secrets: an Enrollment
// prints and logs without them.
type Enrollment struct {
	// Issuer names the service ("Polymarket Exchange"); may be empty.
	Issuer string
	// Account is the account name of the URL's label (the username).
	Account string
	// Period is the length of a time step in seconds (default 30).
	Period uint
	// Digits is the code length, 6 (default) or 8.
	Digits otp.Digits
	// Algorithm is the HMAC hash: SHA1 (default), SHA256 or SHA512.
	Algorithm otp.Algorithm
	// Secret is the shared key in base32, upper case, without padding.
	Secret traderapi.Secret
	// URL is the otpauth:// URL as received.
	URL traderapi.Secret
}

// ParseURL parses an otpauth://totp/ URL such as enroll_mfa returns. It
// rejects other schemes, HOTP, a missing or invalid base32 secret, digits
// other than 6 and 8, an algorithm other than SHA1, SHA256 and SHA512, a
// period of 0 and a non-standard encoder. Absent parameters take the
// defaults: period 30, 6 digits, SHA1. Errors never contain the secret.
func ParseURL(raw string) (*Enrollment, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("mfa: the enrollment URL is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, urlError(err)
	}
	if !strings.EqualFold(u.Scheme, "otpauth") {
		return nil, fmt.Errorf("mfa: the enrollment URL is not an otpauth:// URL (its scheme is %s)", quoteShort(u.Scheme))
	}
	switch strings.ToLower(u.Host) {
	case "totp":
	case "hotp":
		return nil, errors.New("mfa: the enrollment URL is for HOTP (counter-based) codes; only TOTP (time-based) is supported")
	default:
		return nil, fmt.Errorf("mfa: the enrollment URL's type is %s; want otpauth://totp/", quoteShort(u.Host))
	}
	key, err := otp.NewKeyFromURL(s)
	if err != nil {
		return nil, errors.New("mfa: the enrollment URL does not parse")
	}
	q := u.Query()
	e := &Enrollment{
		Issuer:  strings.TrimSpace(key.Issuer()),
		Account: strings.TrimSpace(key.AccountName()),
		URL:     traderapi.Secret(s),
	}
	if e.Secret, err = parseSecret(q.Get("secret")); err != nil {
		return nil, err
	}
	if e.Period, err = parsePeriod(q.Get("period")); err != nil {
		return nil, err
	}
	if e.Digits, err = parseDigits(q.Get("digits")); err != nil {
		return nil, err
	}
	if e.Algorithm, err = parseAlgorithm(q.Get("algorithm")); err != nil {
		return nil, err
	}
	if enc := q.Get("encoder"); enc != "" {
		return nil, fmt.Errorf("mfa: the enrollment URL asks for the %s encoder; only standard numeric codes are supported", quoteShort(enc))
	}
	return e, nil
}

// urlError explains why url.Parse failed without quoting the URL, which a
// *url.Error does, secret included: only the short causes are kept.
func urlError(err error) error {
	var esc url.EscapeError
	var host url.InvalidHostError
	if errors.As(err, &esc) || errors.As(err, &host) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("mfa: the enrollment URL does not parse: %v", ue.Err)
		}
	}
	return errors.New("mfa: the enrollment URL does not parse; paste the whole otpauth:// URL")
}

// parseSecret normalises a base32 secret (upper case, no spaces, no padding)
// and checks that it decodes to at least one byte.
func parseSecret(v string) (traderapi.Secret, error) {
	s := strings.ToUpper(strings.Join(strings.Fields(v), ""))
	s = strings.TrimRight(s, "=")
	if s == "" {
		return "", errors.New("mfa: the enrollment URL has no secret= parameter")
	}
	if _, err := decodeSecret(s); err != nil {
		return "", errors.New("mfa: the enrollment URL's secret is not valid base32 (letters A-Z and digits 2-7, in a valid length)")
	}
	return traderapi.Secret(s), nil
}

func parsePeriod(v string) (uint, error) {
	if v == "" {
		return DefaultPeriod, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("mfa: the enrollment URL's period is %s; want a whole number of seconds above 0", quoteShort(v))
	}
	return uint(n), nil
}

func parseDigits(v string) (otp.Digits, error) {
	switch v {
	case "":
		return DefaultDigits, nil
	case "6":
		return otp.DigitsSix, nil
	case "8":
		return otp.DigitsEight, nil
	}
	return 0, fmt.Errorf("mfa: the enrollment URL asks for %s digits; only 6 or 8 are supported", quoteShort(v))
}

func parseAlgorithm(v string) (otp.Algorithm, error) {
	switch strings.ToUpper(v) {
	case "", "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	}
	return 0, fmt.Errorf("mfa: the enrollment URL's algorithm %s is not supported; want SHA1, SHA256 or SHA512", quoteShort(v))
}

// quoteShort quotes a URL part for an error message if it is short enough
// to be harmless (a mangled URL may put the secret anywhere), or else gives
// only its length.
func quoteShort(v string) string {
	const maxQuoted = 6 // enough for any real value: "sha256", "steam", "120"
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	return fmt.Sprintf("a %d-character value", len(v))
}

// supportedAlgorithm reports whether a is one [ParseURL] accepts.
func supportedAlgorithm(a otp.Algorithm) bool {
	return a == otp.AlgorithmSHA1 || a == otp.AlgorithmSHA256 || a == otp.AlgorithmSHA512
}

// algorithmName names a, without otp.Algorithm.String's panic on unknown values.
func algorithmName(a otp.Algorithm) string {
	switch a {
	case otp.AlgorithmSHA1:
		return "SHA1"
	case otp.AlgorithmSHA256:
		return "SHA256"
	case otp.AlgorithmSHA512:
		return "SHA512"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// check reports what makes e unusable for producing codes.
func (e *Enrollment) check() error {
	switch {
	case e == nil:
		return errors.New("mfa: no enrollment")
	case e.Secret == "":
		return errors.New("mfa: the enrollment has no secret")
	case e.Period == 0:
		return errors.New("mfa: the enrollment's period is 0")
	case e.Digits != otp.DigitsSix && e.Digits != otp.DigitsEight:
		return fmt.Errorf("mfa: the enrollment's codes have %d digits; only 6 or 8 are supported", int(e.Digits))
	}
	if !supportedAlgorithm(e.Algorithm) {
		return fmt.Errorf("mfa: the enrollment's algorithm %s is not supported; want SHA1, SHA256 or SHA512", algorithmName(e.Algorithm))
	}
	if _, err := decodeSecret(e.Secret.Reveal()); err != nil {
		return errors.New("mfa: the enrollment's secret is not valid base32 without padding")
	}
	return nil
}

// StoredURL returns the canonical otpauth://totp/ URL of e (normalised
// secret, every parameter explicit): what the keystore keeps when the user
// asks for --store-secret, and what [ParseURL] reads back into an equal
// Enrollment.
func (e *Enrollment) StoredURL() traderapi.Secret {
	v := url.Values{}
	v.Set("secret", e.Secret.Reveal())
	if e.Issuer != "" {
		v.Set("issuer", e.Issuer)
	}
	v.Set("algorithm", algorithmName(e.Algorithm))
	v.Set("digits", strconv.Itoa(int(e.Digits)))
	v.Set("period", strconv.FormatUint(uint64(e.Period), 10))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + e.label(), RawQuery: v.Encode()}
	return traderapi.Secret(u.String())
}

// label is the URL label that reads back as e's issuer and account. A
// reader splits the label at its first colon and takes the issuer from the
// issuer= parameter when there is one, so the label's issuer prefix loses
// any colon of its own, and an account with a colon gets a prefix (an empty
// one when there is no issuer) so that its colon is not read as the split.
func (e *Enrollment) label() string {
	if e.Issuer == "" && !strings.Contains(e.Account, ":") {
		return e.Account
	}
	return strings.ReplaceAll(e.Issuer, ":", "") + ":" + e.Account
}

// ManualKey returns the secret in groups of four characters, for typing
// into an authenticator that cannot scan the QR code. It reveals the secret:
// show it only on the user's terminal, at the user's request.
func (e *Enrollment) ManualKey() string {
	s := e.Secret.Reveal()
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// ValidateCode checks a code typed for this enrollment: [ValidateCode] with
// the enrolled number of digits.
func (e *Enrollment) ValidateCode(code string) (traderapi.Secret, error) {
	return ValidateCode(code, int(e.Digits))
}

// String describes e without its secret or URL.
func (e Enrollment) String() string {
	return fmt.Sprintf("mfa.Enrollment{Issuer: %q, Account: %q, Period: %ds, Digits: %d, Algorithm: %s, Secret: %s}",
		e.Issuer, e.Account, e.Period, int(e.Digits), algorithmName(e.Algorithm), e.Secret.String())
}

// GoString is [Enrollment.String], for %#v.
func (e Enrollment) GoString() string { return e.String() }

// Format implements [fmt.Formatter] so that no verb prints the secret.
func (e Enrollment) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }

// LogValue implements [slog.LogValuer]: the public parameters, the secret
// redacted.
func (e Enrollment) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", e.Issuer),
		slog.String("account", e.Account),
		slog.Uint64("period", uint64(e.Period)),
		slog.Int("digits", int(e.Digits)),
		slog.String("algorithm", algorithmName(e.Algorithm)),
		slog.String("secret", e.Secret.String()),
	)
}
