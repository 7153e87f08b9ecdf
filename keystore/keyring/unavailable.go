package keyring

import (
	"errors"
	"fmt"
	"strings"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/pmx-login/pmx-login/keystore"
)

// Why a keychain is unavailable: the Reason of a [keystore.UnavailableError]
// from this backend.
const (
	// Other: the keychain failed in a way not recognised below.
	Other keystore.Reason = iota
	// NoService: no keychain service is running (no Secret Service on the
	// session bus, or no session bus at all).
	NoService
	// Locked: the keychain is locked and could not be unlocked.
	Locked
	// Timeout: the keychain did not answer in time (a locked keychain may
	// be waiting on an unlock prompt).
	Timeout
)

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
		return &keystore.UnavailableError{Backend: keystore.BackendKeyring, Reason: NoService, Err: err}
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
			return &keystore.UnavailableError{Backend: keystore.BackendKeyring, Reason: NoService, Err: err}
		}
	}
	if strings.Contains(msg, "failed to unlock correct collection") {
		return &keystore.UnavailableError{Backend: keystore.BackendKeyring, Reason: Locked, Err: err}
	}
	return &keystore.UnavailableError{Backend: keystore.BackendKeyring, Reason: Other, Err: err}
}
