package keystore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zalando/go-keyring"
)

// Reason says why a keychain is unavailable.
type Reason int

const (
	// Other: the keychain failed in a way not recognised below.
	Other Reason = iota
	// NoService: no keychain service is running (no Secret Service on the
	// session bus, or no session bus at all).
	NoService
	// Locked: the keychain is locked and could not be unlocked.
	Locked
	// Timeout: the keychain did not answer in time (a locked keychain may
	// be waiting on an unlock prompt).
	Timeout
)

// String names the reason.
func (r Reason) String() string {
	switch r {
	case NoService:
		return "no service"
	case Locked:
		return "locked"
	case Timeout:
		return "timeout"
	}
	return "other"
}

// UnavailableError is a keychain that could not be used: absent, locked or
// not answering. It matches [ErrUnavailable] with [errors.Is]; it never
// means that no session is stored. Its text says what happened; what to do
// (another backend, unlocking) is the program's to say, from Reason.
type UnavailableError struct {
	// Backend is the backend that failed ("keyring").
	Backend string
	// Keychain names the keychain ("Secret Service", "macOS Keychain",
	// "Windows Credential Manager"); empty when not known.
	Keychain string
	// Reason says why.
	Reason Reason
	// Err is the underlying error, if any.
	Err error
}

// Error says what is wrong, naming the keychain.
func (e *UnavailableError) Error() string {
	name := "the keychain"
	if e.Keychain != "" {
		name += " (" + e.Keychain + ")"
	}
	var what string
	switch e.Reason {
	case NoService:
		what = "no Secret Service is running (org.freedesktop.secrets)"
	case Locked:
		what = name + " is locked and was not unlocked"
	case Timeout:
		what = name + " did not answer in time (it may be locked and waiting on an unlock prompt)"
	default:
		what = name + " returned an error"
	}
	if e.Err != nil {
		return fmt.Sprintf("keychain unavailable: %s: %v", what, e.Err)
	}
	return "keychain unavailable: " + what
}

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

// Is reports whether target is [ErrUnavailable].
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// classify turns an error from go-keyring into this package's errors. It is
// the one place that recognises go-keyring's and D-Bus's error texts (see
// KEYRING.md): none of them is a typed error upstream.
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: the keychain refused the record as too big", ErrTooLarge)
	case errors.Is(err, keyring.ErrUnsupportedPlatform):
		return &UnavailableError{Backend: BackendKeyring, Reason: NoService, Err: err}
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
			return &UnavailableError{Backend: BackendKeyring, Reason: NoService, Err: err}
		}
	}
	if strings.Contains(msg, "failed to unlock correct collection") {
		return &UnavailableError{Backend: BackendKeyring, Reason: Locked, Err: err}
	}
	return &UnavailableError{Backend: BackendKeyring, Reason: Other, Err: err}
}
