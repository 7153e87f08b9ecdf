package cli

import (
	"context"
	"errors"
	"net/http"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Hints shared by several classes.
const (
	hintKeystoreFile = "use --keystore file (PMX_KEYSTORE=file) to keep the session in a 0600 file instead"
	hintLogin        = "run `pmx-login login`"
	hintNetwork      = "check --base-url/--host (PMX_BASE_URL/PMX_HOST) and your network; `pmx-login doctor` names the step that fails"
)

// grpcFailedPrecondition is the gRPC status code of an action the account's
// state does not allow (enroll_mfa with MFA already on).
const grpcFailedPrecondition = 9

// credentialPaths are the endpoints whose 4xx means "credentials rejected".
var credentialPaths = map[string]bool{
	traderapi.PathRegister: true, traderapi.PathCheckPassword: true, traderapi.PathLogin: true,
	traderapi.PathChangePassword: true, traderapi.PathEnrollMFA: true, traderapi.PathConfirmMFA: true,
}

// classify is the one place that turns an error into the exit code and
// the one hint printed after it, by the error's sentinels and types (never
// its text). Library errors say what happened; what to do is said here.
func classify(err error) (code int, hint string) {
	if err == nil {
		return exitOK, ""
	}
	if _, ok := errors.AsType[*isvError](err); ok {
		return classifyISV(err)
	}
	for _, c := range []func(error) (int, string, bool){classifyLocal, classifyStore, classifyOTP, classifyExchange} {
		if code, hint, ok := c(err); ok {
			return code, hint
		}
	}
	return exitFailure, ""
}

// classifyLocal: what the command line or the terminal got wrong.
func classifyLocal(err error) (int, string, bool) {
	ue, isUsage := errors.AsType[*usageError](err)
	switch {
	case errors.Is(err, errInterrupted):
		return exitInterrupted, "", true
	case isUsage && ue.cmd != "":
		return exitUsage, "run `pmx-login " + ue.cmd + " --help`", true
	case isUsage:
		return exitUsage, "run `pmx-login --help`", true
	case errors.Is(err, errNoUser):
		return exitUsage, "give --username NAME or set PMX_USERNAME", true
	case errors.Is(err, errNoInput):
		return exitUsage, "pipe the password with --password-stdin, one per line", true
	case errors.Is(err, errBadPassword):
		return exitUsage, "type the password again; it must be valid UTF-8 text", true
	case errors.Is(err, errBadOTP):
		return exitUsage, "give the 6-digit code your authenticator app shows, digits only", true
	case errors.Is(err, errPasswordMismatch):
		return exitFailure, "type the same password twice", true
	case errors.Is(err, errNoTOTPSecret):
		return exitNotLoggedIn, "the secret can only be stored at enrollment (`pmx-login mfa enroll --store-secret`, before `mfa confirm`); " +
			"with MFA already on, give the code at login with --otp - or PMX_OTP_COMMAND", true
	case errors.Is(err, session.ErrRolledBack):
		return exitNotLoggedIn, "the stored session is an old copy written back over a newer one: run `pmx-login login`, and check who can write to the keystore", true
	case errors.Is(err, session.ErrNotLoggedIn), errors.Is(err, session.ErrSessionExpired):
		return exitNotLoggedIn, hintLogin, true
	case errors.Is(err, session.ErrConfig):
		return exitUsage, "check --env, --base-url, --keystore and the Redis settings (or their PMX_* variables): run `pmx-login --help`", true
	}
	return 0, "", false
}

// classifyStore: the keystore failed (checked before the network classes,
// so that a keychain that hangs past --timeout is named as the keychain).
func classifyStore(err error) (int, string, bool) {
	_, keyFile := errors.AsType[*redisKeyFileError](err)
	switch {
	case keyFile:
		return exitFailure, hintRedisKeyFile, true
	case errors.Is(err, redis.ErrRefused): // WRONGPASS, NOAUTH, NOPERM
		return exitUsage, "Redis refused pmx-login: check the user and password in --redis-url (" + envRedisURL + ") and that the user's ACL is the README's", true
	case errors.Is(err, redis.ErrUnavailable):
		return exitFailure, "check that Redis is up and that --redis-url (" + envRedisURL + ") reaches it: host, port, TLS, user and password", true
	case isAltered(err):
		return exitFailure, "someone who can write to Redis altered or moved this record: run `pmx-login login` to store a new session, and check who can write to Redis", true
	case errors.Is(err, redis.ErrDecrypt):
		return exitFailure, "the session in Redis was stored with another key: give --redis-key-file (" + envRedisKeyFile + ") the key file the fleet uses; during a key rotation, give the other key with --redis-old-key-file (" + envRedisOldKeyFiles + ")", true
	case errors.Is(err, keyring.ErrTimeout):
		return exitFailure, "the keychain did not answer (it may be locked and waiting on an unlock prompt): unlock it, or " + hintKeystoreFile, true
	case errors.Is(err, keystore.ErrUnavailable):
		return exitFailure, hintKeystoreFile, true
	case errors.Is(err, session.ErrNotStored), errors.Is(err, errNotSaved), errors.Is(err, errStoreCheck):
		return exitFailure, "the keystore could not be written: check it with `pmx-login doctor`, or " + hintKeystoreFile, true
	case errors.Is(err, keystore.ErrInsecure):
		return exitFailure, "make the keystore private: chmod 700 its directories and 600 its files", true
	case errors.Is(err, keystore.ErrCorrupt):
		return exitFailure, "remove the entry with `pmx-login logout` and log in again", true
	case errors.Is(err, keystore.ErrTooLarge):
		return exitFailure, hintKeystoreFile, true
	}
	return 0, "", false
}

// classifyOTP: the one-time code was missing, used, or refused.
func classifyOTP(err error) (int, string, bool) {
	ae, isAPI := errors.AsType[*traderapi.APIError](err)
	switch {
	case errors.Is(err, errNoOTP):
		return exitRejected, "give the code with --otp - (one line on stdin), or set PMX_OTP_COMMAND to a command that prints one", true
	case errors.Is(err, errOTPCommand):
		return exitRejected, "run the " + envOTPCommand + " command in a shell to see why it gives no code, or give --otp -", true
	case errors.As(err, new(*otpUsedError)):
		return exitRejected, "wait for your authenticator's next code and run the command again", true
	case errors.Is(err, mfa.ErrCodeRejected):
		return exitRejected, "check the code (and the phone's clock), or wait for the authenticator's next code and try again", true
	case isAPI && ae.Endpoint == traderapi.PathLogin && errors.Is(ae, traderapi.ErrOTPRequired):
		return exitRejected, "the code was refused: check it, or wait for your authenticator's next code (each code works once)", true
	}
	return 0, "", false
}

// classifyExchange: the exchange could not be reached, or refused. What
// the library decides (rate limited, unavailable: unreachable, a 5xx, an
// answer that is not the exchange's own) is session.Classify's; the CLI
// adds what its commands know (which endpoint refused which credential).
func classifyExchange(err error) (int, string, bool) {
	ae, isAPI := errors.AsType[*traderapi.APIError](err)
	kind := session.Classify(err)
	switch {
	case errors.Is(err, session.ErrNotRevoked):
		return exitUnreachable, "the session was removed here, but the exchange did not confirm the revoke: its tokens stay valid until they expire; " +
			"`pmx-login doctor` checks the way to the exchange", true
	case kind == session.KindRateLimited:
		return exitUnreachable, "wait a little and try again", true
	case errors.Is(err, context.DeadlineExceeded):
		return exitUnreachable, "the command ran out of time: check the network, or give a longer --timeout", true
	case kind == session.KindUnavailable, misdirected(err):
		return exitUnreachable, hintNetwork, true
	case isAPI && ae.Endpoint == traderapi.PathEnrollMFA && ae.Code == grpcFailedPrecondition:
		return exitFailure, "MFA is already on for this account, and its secret was handed out only at enrollment: " +
			"give codes at login with --otp - or PMX_OTP_COMMAND (your authenticator or password manager)", true
	case isAPI && credentialPaths[ae.Endpoint] && rejection(ae.StatusCode):
		return exitRejected, credentialHint(ae), true
	case isAPI && credentialPaths[ae.Endpoint]:
		return exitFailure, credentialHint(ae), true
	}
	return 0, "", false
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

// credentialHint says what to do about a rejection by a credential endpoint.
func credentialHint(ae *traderapi.APIError) string {
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
	switch {
	case ae.Endpoint == traderapi.PathChangePassword && ae.StatusCode == http.StatusBadRequest:
		return "choose a new password that meets the policy"
	case ae.Endpoint == traderapi.PathChangePassword:
		return "check the username and the current password"
	}
	return "check the username and password"
}

// misdirected reports an answer that says the request reached something
// other than the exchange's auth endpoints: 421 (wrong Host) or 404.
func misdirected(err error) bool {
	ae, ok := errors.AsType[*traderapi.APIError](err)
	return ok && (ae.StatusCode == http.StatusMisdirectedRequest || ae.StatusCode == http.StatusNotFound)
}

// isAltered reports a Redis record that names a key this process has but
// does not decrypt with it: altered or moved, not a wrong key file.
func isAltered(err error) bool {
	return errors.Is(err, redis.ErrDecrypt) && !errors.Is(err, redis.ErrWrongKey)
}
