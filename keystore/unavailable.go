package keystore

import "fmt"

// Reason says why a keychain is unavailable. Its values (Other, NoService,
// Locked, Timeout) are declared by the backend that reports them, package
// keystore/keyring.
type Reason int

// The reasons' values, as package keystore/keyring exports them.
const (
	_ Reason = iota // Other
	reasonNoService
	reasonLocked
	reasonTimeout
)

// String names the reason.
func (r Reason) String() string {
	switch r {
	case reasonNoService:
		return "no service"
	case reasonLocked:
		return "locked"
	case reasonTimeout:
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
	case reasonNoService:
		what = "no Secret Service is running (org.freedesktop.secrets)"
	case reasonLocked:
		what = name + " is locked and was not unlocked"
	case reasonTimeout:
		what = name + " did not answer in time (it may be locked and waiting on an unlock prompt)"
	default:
		what = name + " returned an error"
	}
	if e.Err != nil {
		return fmt.Sprintf("keychain unavailable: %s: %v", what, e.Err)
	}
	return "keychain unavailable: " + what
}

// Is reports whether target is [ErrUnavailable].
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }
