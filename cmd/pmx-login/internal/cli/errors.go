package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/isv"
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
)

// credentialPaths are the endpoints whose 4xx means "credentials rejected".
var credentialPaths = map[string]bool{
	traderapi.PathRegister: true, traderapi.PathCheckPassword: true, traderapi.PathLogin: true,
	traderapi.PathChangePassword: true, traderapi.PathEnrollMFA: true, traderapi.PathConfirmMFA: true,
}

// exitCode maps an error to the process exit code. It is the one place
// that does.
func exitCode(err error) int {
	var ue *usageError
	var ae *traderapi.APIError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, errNoUser), errors.Is(err, errNoInput), errors.Is(err, isv.ErrBadKey):
		return exitUsage
	case errors.Is(err, session.ErrNotLoggedIn), errors.Is(err, session.ErrSessionExpired), errors.Is(err, errNoTOTPSecret):
		return exitNotLoggedIn
	case isOTPError(err):
		return exitRejected
	case errors.Is(err, keystore.ErrUnavailable):
		return exitFailure
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, traderapi.ErrUnavailable),
		errors.Is(err, traderapi.ErrRateLimited), errors.Is(err, traderapi.ErrMalformedResponse),
		errors.Is(err, context.DeadlineExceeded), misdirected(err):
		return exitUnreachable
	case isvRejected(err):
		return exitRejected
	case errors.As(err, &ae) && credentialPaths[ae.Endpoint] && rejection(ae.StatusCode):
		return exitRejected
	}
	return exitFailure
}

// rejection reports whether a status on a credential endpoint means the
// credentials (password, code, registration token) were refused.
func rejection(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusConflict, http.StatusPreconditionFailed:
		return true
	}
	return false
}

// message returns the one-line text of err and a hint of what to do. The
// line is the error's own text (every layer adds a few words, never a
// secret: tokens and passwords are traderapi.Secret), flattened to one
// line and passed through the redactor as a last guard.
func message(err error) (line, hint string) {
	line = strings.Join(strings.Fields(err.Error()), " ")
	line = traderapi.RedactText(line)
	if len(line) > 400 {
		line = strings.ToValidUTF8(line[:400], "") + "…"
	}
	if h, ok := isvHint(err); ok {
		return line, h
	}
	var ue *usageError
	var ae *traderapi.APIError
	switch {
	case errors.As(err, &ue):
		if ue.cmd != "" {
			return line, "run `pmx-login " + ue.cmd + " --help`"
		}
		return line, "run `pmx-login --help`"
	case errors.Is(err, errNoUser):
		return line, "give --username NAME or set PMX_USERNAME"
	case errors.Is(err, errNoTOTPSecret):
		return line, "run `pmx-login mfa enroll --store-secret` to keep one for unattended codes"
	case errors.Is(err, session.ErrNotLoggedIn), errors.Is(err, session.ErrSessionExpired):
		return line, "run `pmx-login login`"
	case isOTPError(err):
		return line, "give the code from your authenticator app with --otp CODE, or set PMX_OTP_COMMAND to a command that prints one"
	case errors.Is(err, keystore.ErrUnavailable):
		if strings.Contains(line, "--keystore file") {
			return line, "" // the keystore's message names the fallback already
		}
		return line, "use --keystore file (PMX_KEYSTORE=file) to keep the session in a 0600 file instead"
	case errors.Is(err, traderapi.ErrRateLimited):
		return line, "wait a little and try again"
	case errors.Is(err, context.DeadlineExceeded):
		return line, "the command ran out of time: check the network, or give a longer --timeout"
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, traderapi.ErrUnavailable),
		errors.Is(err, traderapi.ErrMalformedResponse), misdirected(err):
		return line, "check --base-url/--host (PMX_BASE_URL/PMX_HOST) and your network; `pmx-login doctor` names the step that fails"
	case errors.As(err, &ae) && credentialPaths[ae.Endpoint]:
		return line, credentialHint(ae)
	case errors.Is(err, errPasswordMismatch):
		return line, "type the same password twice"
	case errors.Is(err, errNoInput):
		return line, "pipe the password with --password-stdin, one per line"
	}
	return line, ""
}

// credentialHint says what to do about a rejection by a credential endpoint.
func credentialHint(ae *traderapi.APIError) string {
	policy := ae.StatusCode == http.StatusBadRequest
	switch ae.Endpoint {
	case traderapi.PathRegister:
		// The password was checked first: what is left is the token.
		return "registration tokens are single-use and expire: ask your account manager for a new one"
	case traderapi.PathCheckPassword:
		return "choose another password"
	}
	if ae.StatusCode == http.StatusConflict || ae.StatusCode == http.StatusPreconditionFailed {
		return "" // the exchange's message says what state the account is in
	}
	switch ae.Endpoint {
	case traderapi.PathChangePassword:
		if policy {
			return "choose a new password that meets the policy"
		}
		return "check the username and the current password"
	}
	return "check the username and password"
}

// misdirected reports an answer that says the request reached something
// other than the exchange's auth endpoints: 421 (wrong Host) or 404.
func misdirected(err error) bool {
	var ae *traderapi.APIError
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusMisdirectedRequest || ae.StatusCode == http.StatusNotFound)
}

// isOTPError reports an error about the one-time code: none available, a
// malformed one, or the exchange asking for one or refusing it. Only login
// and confirm_mfa answers count: traderapi's OTP match looks at message
// words, and "registration is a one-time operation" is not about a code.
func isOTPError(err error) bool {
	if errors.Is(err, errNoOTP) || errors.Is(err, errBadOTP) || errors.Is(err, mfa.ErrCodeRejected) {
		return true
	}
	var ae *traderapi.APIError
	return errors.As(err, &ae) && (ae.Endpoint == traderapi.PathLogin || ae.Endpoint == traderapi.PathConfirmMFA) &&
		errors.Is(ae, traderapi.ErrOTPRequired)
}

// isNotFound reports a keystore miss.
func isNotFound(err error) bool { return errors.Is(err, keystore.ErrNotFound) }
