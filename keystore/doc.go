// Package keystore keeps pmx-login sessions between runs: the refresh token,
// its expiry, a cache of the current access token, and optionally a TOTP
// enrollment URL, per environment and username. It never stores a password.
//
// This package is the core that every backend shares, the way database/sql
// is for its drivers: the [Record], the [Key] that names an entry, the
// [Store] interface, the errors to branch on ([ErrNotFound],
// [ErrUnavailable], [*ConflictError], ...), the wire format ([Encode],
// [Decode]) and [Memory], a store for tests and for bots that must not
// persist anything. It imports no third-party code. The backends are
// packages of their own, so a program links only the ones it uses:
//
//   - keystore/keyring, the default: the operating system's keychain.
//   - keystore/file: one 0600 JSON file per session, on request.
//   - keystore/redis: one encrypted record shared by a fleet of processes.
//
// Package keystore/storetest holds the conformance suite every backend
// runs, and session/settings picks a backend from pmx-login's flags and
// environment.
//
// Entries are keyed by [Key]: environment, username and [Item].
// Environments never share entries. Storing a session also records its
// username as the environment's last user ([Store.LastUser]), so a bot or
// `pmx-login token` needs no username.
//
// All backends share one wire format, [Encode] and [Decode]: compact JSON
// with a version field. A backend validates keys with [Key.Normalize] and
// records with [Prepare] and [Belongs], and checks a compare-and-set with
// [Compare].
//
// [Record] holds its tokens in [traderapi.Secret]: they print as
// "[REDACTED]" through fmt, %#v and log/slog.
package keystore
