// Package isv authenticates an ISV partner's bot to the Polymarket Exchange
// with Private Key JWT (the exchange's ISV authentication guide and its
// authentication troubleshooting guide).
//
// A [Source] signs an RS256 client assertion with the partner's RSA key
// (iss = sub = client ID, aud = the token endpoint, a fresh UUID jti each
// time, exp at most 300 s after iat), exchanges it at the Auth0 token endpoint
// for a short-lived Bearer access token, and caches that token:
//
//   - the token's lifetime comes from expires_in (or the token's own exp −
//     iat), never from an assumed 180 s;
//   - [Source.Token] on a fresh token is lock-free, allocation-free and reads
//     no clock: timers on the monotonic clock mark the cached token stale at
//     expiry − margin and expired at expiry;
//   - a stale token is still served while one background refresh runs; an
//     expired one makes callers wait for a single shared refresh, which a
//     caller giving up does not cancel; a failed refresh keeps the old,
//     still-valid token.
//
// Many processes of one partner share one token through [Config.Store]
// (redis.Store across machines, file.Store on one machine): a
// process whose token goes stale takes the store's lock, re-reads the
// stored token and adopts it while it is fresh, and otherwise requests one
// (signing the assertion itself) and stores it by compare-and-set. The
// fleet so makes the token requests of a single holder. A store that
// fails is logged and each process requests on its own.
//
// [Source.Transport] sends Authorization: Bearer and, on the paths that act
// for one account (trading, positions, reports, the balance ledger,
// valuations), x-participant-id; it refuses to send such a request without
// one. A missing scope is a [*ScopeError] naming it. [Source.OAuth2]
// adapts a Source to golang.org/x/oauth2, and package grpcauth to gRPC:
//
//	grpcauth.DialOptions(src.Token, grpcauth.WithScheme("Bearer"),
//		grpcauth.WithMetadata(isv.ParticipantHeader, participantID))
//
// Keys load from PEM ([LoadPrivateKey]); a DER, JWK, encrypted or non-RSA key
// is refused with an error that says how to convert it. Secrets never appear
// in errors, logs or %v output: [Config] and [Source] print redacted.
//
// The local token service and sample API in package traderapitest
// (AuthServer and APIServer) verify assertions
// independently of this package, as the exchange's Auth0 tenant does.
package isv
