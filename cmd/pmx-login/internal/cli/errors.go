package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNotLoggedIn = 3
	exitRejected    = 4
	exitUnreachable = 5
	// exitInterrupted is what a shell reports for a command ended by
	// SIGINT (128 + 2).
	exitInterrupted = 130
)

// usageError is a command line that cannot run: exit 2.
type usageError struct {
	cmd string // the command, for the --help hint; "" for pmx-login itself
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// Errors of the CLI's own that the exit code depends on.
var (
	// errNoOTP: the exchange wants a one-time code and there is no way to
	// get one (no --otp, no PMX_OTP_COMMAND, no stored secret, no terminal).
	errNoOTP = errors.New("the account has MFA on and login needs a one-time code")
	// errBadOTP wraps a code that is not a well-formed code.
	errBadOTP = errors.New("invalid one-time code")
	// errNoTOTPSecret: `mfa code` without a stored enrollment.
	errNoTOTPSecret = errors.New("no TOTP secret is stored")
	// errNoUser: no --username and no last user in the keystore.
	errNoUser = errors.New("no username given and nobody has logged in to this environment")
	// errPasswordMismatch: the two entries of a new password differ.
	errPasswordMismatch = errors.New("the two passwords do not match")
	// errNoInput: a secret is needed and stdin is not a terminal.
	errNoInput = errors.New("stdin is not a terminal")
	// errInterrupted: the user pressed Ctrl-C (or the process got SIGTERM).
	errInterrupted = errors.New("interrupted")
	// errNotSaved: the exchange did what was asked but the keystore did
	// not record it (a refreshed token not saved, a session not removed).
	errNotSaved = errors.New("the keystore was not updated")
	// errBadPassword: a password that cannot be sent as typed (not UTF-8).
	errBadPassword = errors.New("unusable password")
)

// otpUsedError is a one-time code whose time window was already used by an
// earlier login or confirmation: the exchange accepts each window once.
type otpUsedError struct {
	// next is when the next window (and code) begins.
	next time.Duration
}

func (e *otpUsedError) Error() string {
	return fmt.Sprintf("the one-time code of this 30-second window was already used; the next code comes in %s",
		e.next.Round(time.Second))
}

// errorLine is err as the one line Main prints: whitespace flattened,
// secrets redacted as a last guard, and cut at 400 bytes.
func errorLine(err error) string {
	line := strings.Join(strings.Fields(err.Error()), " ")
	line = traderapi.RedactText(line)
	if len(line) > 400 {
		line = strings.ToValidUTF8(line[:400], "") + "…"
	}
	return line
}

// isNotFound reports a keystore miss.
func isNotFound(err error) bool { return errors.Is(err, keystore.ErrNotFound) }
