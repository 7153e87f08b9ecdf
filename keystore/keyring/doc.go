// Package keyring is the keystore backend of the operating system's
// keychain, and pmx-login's default: github.com/zalando/go-keyring
// (Secret Service on Linux, Keychain on macOS, Credential Manager on
// Windows). Every call has a timeout of its own ([WithTimeout],
// 5 s), because a call to a locked or absent Secret Service
// can block forever. A keychain that is absent, locked or not answering
// gives an error matching [keystore.ErrUnavailable] and, when the reason
// is known, [ErrNoService], [ErrLocked] or [ErrTimeout] (also when the
// caller's deadline ends first); it is never reported as "not
// logged in", and what to do instead is the program's to say.
//
// The keychain service name carries the environment
// ("pmx-login:preprod"). Keychains limit the size of an entry (about 3000
// bytes on macOS, 2560 on Windows): the store drops the cached access
// token when a record would not fit, and returns [keystore.ErrTooLarge]
// when even that is not enough. A keychain has no compare-and-set: the
// store serialises its writes with lock files.
package keyring
