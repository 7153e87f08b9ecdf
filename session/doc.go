// Package session keeps a trader's Polymarket Exchange session alive: it logs
// in, stores the refresh token in a keystore (the OS keychain by default),
// and always has a valid access token for the bot that imports it.
//
// A [Manager] is safe for concurrent use. Its [Manager.Token] is the hot path
// of every request a bot makes: with a valid token it is lock-free, reads no
// clock, allocates nothing and never touches the network or the keychain.
// Timers on the monotonic clock mark the token stale at its expiry minus a
// margin (60 s by default, at most half the token's lifetime) and expired at
// its expiry; the lifetime comes from each response (expiration minus issue
// time, or the JWT's exp minus iat), so a skewed local clock can make a fresh
// token neither look expired nor an expired one look fresh.
//
// A stale token is still served while exactly one refresh runs for all
// callers (single-flight, on a context detached from the caller that started
// it); only callers holding nothing valid wait. Transient refresh failures
// (5xx, 429, network) are retried with capped exponential backoff and jitter,
// honouring Retry-After, while the old token is served. A rejected or expired
// refresh token ends the session with [ErrSessionExpired] and removes it from
// the store, unless [Config.Relogin] can log in again.
//
// [Manager.Transport] wraps an [http.RoundTripper] to send the raw access
// token as the Authorization header (the exchange wants no "Bearer " prefix)
// and, on a 401, refreshes once and retries once.
//
// Secrets never reach a log line, an error or %v output: tokens and
// passwords are [traderapi.Secret] values.
package session
