// Package session keeps a trader's Polymarket Exchange session alive: it logs
// in, stores the refresh token in a keystore (the OS keychain by default),
// and always has a valid access token for the bot that imports it.
//
// # The token cache
//
// A [Manager] is safe for concurrent use. Its [Manager.Token] is the hot path
// of every request a bot makes: with a fresh token it is one atomic load and
// one flag read, lock-free, with no clock read, no allocation and no network
// or keychain access. Timers mark the token stale at its expiry minus a
// margin (60 s by default, at most half the token's lifetime, shortened by a
// random [Config.Jitter]) and expired at its expiry. The lifetime comes from
// each response (expiration minus issue time, or the JWT's exp minus iat) and
// runs on the one clock ([Config.Now]) from when the request was sent, so a
// skewed local clock can make a fresh token neither look expired nor an
// expired one look fresh. [Manager.Start] also re-checks the token when the
// wall clock jumps past the monotonic one (a laptop's sleep).
//
// A stale token is still served while exactly one refresh runs for all
// callers (single-flight, on a context detached from the caller that started
// it); only callers holding nothing valid wait. Transient failures (5xx, 429,
// network, a proxy's page) are retried with capped exponential backoff,
// honouring Retry-After, while the old token is served; after a failed
// refresh, no new one starts before a cooldown ([Retry.Cooldown]).
//
// # What ends a session
//
// Only the exchange's own rejection of the refresh token (a 401 with its JSON
// error), or a refresh token past its expiry, ends a session: with
// [ErrSessionExpired] (naming what the exchange answered), unless [Config.Relogin] logs in
// again. A 403, 404, 409, HTML page, 5xx or timeout keeps it. [Manager.Logout]
// ends the session at once: no refresh in flight publishes or stores
// anything after it, and Relogin is not called. [Manager.Close] does the same
// without revoking anything. Check errors with [Classify], or in its
// documented order with [errors.Is].
//
// # Processes that share a store
//
// Every write to the store is a compare-and-set against the record the
// process started from, with a generation that only grows; a refresh holds
// the store's cross-process lock and re-reads the record first, so processes
// sharing a session (the CLI and bots on one machine with the file or
// keyring store, or a fleet on Redis) refresh it once per period and adopt
// each other's tokens. A session that ended leaves a tombstone record so that
// every process learns why; a logout removes the record. With a store that
// can be watched (Redis), [Manager.Start] also follows the stored session:
// a new token, a logout or a new login reaches every process at once.
// [Manager.Resume] loads the stored session without a network call;
// [Manager.FreshToken] is for one-shot processes.
//
// # Adapters
//
// [Manager.Transport] wraps an [http.RoundTripper] to send the raw access
// token as the Authorization header (the exchange wants no "Bearer " prefix)
// to the exchange's origin only and, on a 401, refreshes once and retries
// once; package grpcauth is the same for gRPC. [Manager.TokenInfo] gives
// the token with its expiry; package settings reads the same flags and
// variables as the CLI; [PasswordRelogin] builds an unattended Relogin.
//
// Secrets never reach a log line, an error or %v output: tokens and
// passwords are [traderapi.Secret] values.
package session
