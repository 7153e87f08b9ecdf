// Package traderapi is a typed HTTP client for the Polymarket Exchange
// v1beta1 trader authentication endpoints: register, check_password, login,
// refresh_access_token, logout, change_password, enroll_mfa and confirm_mfa.
//
// Every call is an HTTPS POST with a JSON body to an environment's private-link
// base URL, with the Host header set to the environment's REST host (see
// [Environment]). A [Client] is safe for concurrent use.
//
// Errors from the exchange are returned as [*APIError], which decodes every
// error body shape the exchange's documents show (gRPC-gateway, OAuth, and
// the generic error/message/request_id shape) and matches the sentinel errors
// [ErrUnauthorized], [ErrForbidden], [ErrOTPRequired], [ErrRateLimited] and
// [ErrUnavailable] with [errors.Is]. A transport failure matches
// [ErrUnreachable]; a success response the client cannot use matches
// [ErrMalformedResponse].
//
// Secrets (passwords, tokens, OTP codes, enrollment URLs) are held in
// [Secret], which prints as "[REDACTED]" through fmt, %#v and log/slog but is
// sent as-is on the wire.
//
// Calls that carry credentials follow no redirect (a 3xx is an [*APIError]
// matching [ErrRedirected], see [NoRedirects]); a base URL is https, or
// plain http only to a loopback host ([RequireHTTPS]); every secret value a
// call sent is scrubbed from its error and the debug trace ([Scrub]), on
// top of the pattern redaction of [RedactText].
//
// The package traderapitest beside this one runs a faithful local exchange
// for tests and demos.
package traderapi
