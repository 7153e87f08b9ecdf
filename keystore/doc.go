// Package keystore keeps pmx-login sessions between runs: the refresh token,
// its expiry, a cache of the current access token, and optionally a TOTP
// enrollment URL, per environment and username. It never stores a password.
//
// A [Store] has three backends:
//
//   - [Keyring], the default: the operating system's keychain through
//     github.com/zalando/go-keyring (Secret Service on Linux, Keychain on
//     macOS, Credential Manager on Windows). Every call has a timeout of its
//     own, because a call to a locked or absent Secret Service can block
//     forever. A keychain that is absent, locked or not answering gives an
//     [*UnavailableError] (matching [ErrUnavailable]) whose Reason says
//     which, also when the caller's deadline ends first; it is never
//     reported as "not logged in", and what to do instead is the program's
//     to say.
//   - [File], only when the user asks for it (--keystore file or
//     PMX_KEYSTORE=file): one JSON file per session under
//     os.UserConfigDir()/pmx-login (so XDG_CONFIG_HOME moves it), mode 0600
//     in 0700 directories, written to a temporary file and renamed into
//     place under a cross-process lock, so that a CLI and a bot sharing a
//     session never see a torn record. The file fallback keeps the refresh
//     token in plain text on disk, protected only by file permissions: a
//     file that group or others can read, or that another user owns, is
//     refused ([ErrInsecure]), and no symbolic link is followed.
//   - [Memory], for tests and for bots that must not persist anything.
//
// Entries are keyed by [Key]: environment, username and [Item]. Environments
// never share entries: the keychain service name carries the environment
// ("pmx-login:preprod"), and the file backend keeps one directory per
// environment. Storing a session also records its username as the
// environment's last user ([Store.LastUser]), so a bot or `pmx-login token`
// needs no username.
//
// All backends share one wire format, [Encode] and [Decode]: compact JSON
// with a version field. Keychains limit the size of an entry (about 3000
// bytes on macOS, 2560 on Windows): the keyring backend drops the cached
// access token when a record would not fit, and returns [ErrTooLarge] when
// even that is not enough.
//
// [Record] holds its tokens in [traderapi.Secret]: they print as
// "[REDACTED]" through fmt, %#v and log/slog.
package keystore
