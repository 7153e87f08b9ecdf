package keyring

import (
	"errors"
	"fmt"
	"strings"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/pmx-login/pmx-login/keystore"
)

// Why a keychain is unavailable, to branch on with [errors.Is]. Every
// error of this backend that matches one of them also matches
// [keystore.ErrUnavailable]; a keychain that failed in some other way
// matches keystore.ErrUnavailable alone.
var (
	// ErrNoService: no keychain service is running (no Secret Service on
	// the session bus, or no session bus at all).
	ErrNoService error = &unavailableError{reason: noService}
	// ErrLocked: the keychain is locked and could not be unlocked.
	ErrLocked error = &unavailableError{reason: locked}
	// ErrTimeout: the keychain did not answer in time (a locked keychain
	// may be waiting on an unlock prompt).
	ErrTimeout error = &unavailableError{reason: timeout}
)

// reason says why a keychain is unavailable.
type reason int

const (
	other reason = iota
	noService
	locked
	timeout
)

// unavailableError is a keychain that could not be used: absent, locked
// or not answering. It never means that no session is stored. Its text
// says what happened; what to do (another backend, unlocking) is the
// program's to say.
type unavailableError struct {
	keychain string // "Secret Service", "macOS Keychain", ...; "" when not known
	reason   reason
	err      error // the underlying error, if any
}

func unavailable(keychain string, r reason, err error) error {
	return &unavailableError{keychain: keychain, reason: r, err: err}
}

func (e *unavailableError) Error() string {
	name := "the keychain"
	if e.keychain != "" {
		name += " (" + e.keychain + ")"
	}
	what := map[reason]string{
		noService: "no Secret Service is running (org.freedesktop.secrets)",
		locked:    name + " is locked and was not unlocked",
		timeout:   name + " did not answer in time (it may be locked and waiting on an unlock prompt)",
	}[e.reason]
	if what == "" {
		what = name + " returned an error"
	}
	if e.err != nil {
		return fmt.Sprintf("keychain unavailable: %s: %v", what, e.err)
	}
	return "keychain unavailable: " + what
}

// Is matches [keystore.ErrUnavailable] and the sentinel of its reason.
func (e *unavailableError) Is(target error) bool {
	if target == keystore.ErrUnavailable {
		return true
	}
	t, ok := target.(*unavailableError)
	return ok && t.reason == e.reason && e.reason != other
}

func (e *unavailableError) Unwrap() error { return e.err }

// keychainName names the operating system's keychain on goos.
func keychainName(goos string) string {
	switch goos {
	case "darwin", "ios":
		return "macOS Keychain"
	case "windows":
		return "Windows Credential Manager"
	}
	return "Secret Service"
}

// classify turns an error from go-keyring into this package's errors. It is
// the one place that recognises go-keyring's and D-Bus's error texts (see
// KEYRING.md): none of them is a typed error upstream.
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, gokeyring.ErrNotFound):
		return keystore.ErrNotFound
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: the keychain refused the record as too big", keystore.ErrTooLarge)
	case errors.Is(err, gokeyring.ErrUnsupportedPlatform):
		return unavailable("", noService, err)
	}
	msg := err.Error()
	for _, s := range []string{
		`"dbus-launch"`,                         // no session bus and no dbus-x11
		"no such file or directory",             // DBUS_SESSION_BUS_ADDRESS points nowhere
		"connection refused",                    // a stale bus socket
		"couldn't determine address of session", // godbus without autolaunch
		"was not provided by any .service files",
		"org.freedesktop.DBus.Error.ServiceUnknown",
	} {
		if strings.Contains(msg, s) {
			return unavailable("", noService, err)
		}
	}
	if strings.Contains(msg, "failed to unlock correct collection") {
		return unavailable("", locked, err)
	}
	return unavailable("", other, err)
}
