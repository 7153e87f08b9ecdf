package mfa

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/pmx-login/pmx-login/traderapi"
)

// CodeSource hands out one-time codes for login. [*Generator] and
// [*CommandSource] implement it; so does a prompt in the CLI.
type CodeSource interface {
	// Code returns a code valid now that it has not returned before.
	Code(ctx context.Context) (traderapi.Secret, error)
}

// ValidateCode checks a one-time code as a user typed it and returns it as a
// [traderapi.Secret]. Spaces anywhere are dropped ("123 456" and a trailing
// newline are fine); what remains must be ASCII digits, exactly digits of
// them. digits 0 accepts 6 or 8 (when the enrolled length is unknown). The
// error says what was wrong without repeating the code.
func ValidateCode(code string, digits int) (traderapi.Secret, error) {
	if digits != 0 && digits != 6 && digits != 8 {
		return "", fmt.Errorf("mfa: ValidateCode: codes of %d digits are not supported; want 6 or 8", digits)
	}
	want := "6"
	if digits != 0 {
		want = fmt.Sprint(digits)
	}
	c := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if c == "" {
		return "", fmt.Errorf("mfa: no code was given; enter the %s-digit code your authenticator shows", want)
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("mfa: the code must be digits only, but it contains %s; enter the %s-digit code your authenticator shows", describeRune(r), want)
		}
	}
	switch n := len(c); {
	case digits == 0 && (n == 6 || n == 8):
	case digits == 0:
		return "", fmt.Errorf("mfa: the code has %d digits; authenticator codes have 6 or 8", n)
	case n != digits:
		return "", fmt.Errorf("mfa: the code has %d digits; your authenticator shows %d", n, digits)
	}
	return traderapi.Secret(c), nil
}

// describeRune names the kind of a character that is not a digit, without
// quoting it (the input may be a password typed at the wrong prompt).
func describeRune(r rune) string {
	switch {
	case r > unicode.MaxASCII && unicode.IsDigit(r):
		return "a digit other than 0-9"
	case r > unicode.MaxASCII:
		return "a non-ASCII character"
	case unicode.IsLetter(r):
		return "a letter"
	case unicode.IsControl(r):
		return "a control character"
	}
	return "punctuation or a symbol"
}
