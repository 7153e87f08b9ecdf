// Package traderapitest runs a faithful local Polymarket Exchange for tests,
// demos and the sandbox, the way net/http/httptest runs an HTTP server.
//
// An [Exchange] is an [http.Handler] serving the eight v1beta1 auth endpoints
// and the sample trading endpoint /api/v1beta1/insert_order with the JSON
// shapes of the exchange's documents. It answers only requests whose Host is
// its REST host (any other Host gets the 421 a load balancer gives), keeps
// real state and enforces it:
//
//   - registration tokens are HS256 JWTs naming the username, accepted once;
//   - a password policy guards check_password, register and change_password;
//   - access tokens are HS256 JWTs (sub, iat, exp, iss, aud, jti), refresh
//     tokens are opaque or JWTs; both expire after configurable lifetimes,
//     and logout revokes both;
//   - MFA is real TOTP (RFC 6238): enroll_mfa hands out an otpauth:// URL with
//     a fresh secret, confirm_mfa checks a code, and from then on login needs
//     a code that was not used before in its time window;
//   - logout and insert_order need "Authorization: <raw access token>"; a
//     "Bearer " prefix is rejected, as the exchange documents.
//
// Errors use the exchange's gRPC-gateway shape {"code","message","details"}
// with the matching HTTP status.
//
// For tests it adds an injectable clock ([Exchange.SetNow],
// [Exchange.Advance]), per-endpoint call counters and a record of every
// request ([Exchange.Calls], [Exchange.Requests]), and fault injection per
// endpoint ([Exchange.InjectFault]): status codes, latency, connection
// resets, redirects, HTML pages, truncated JSON, Retry-After, slow bodies,
// garbled tokens and oversized bodies. The faults of what stands in front
// of the exchange:
//
//   - a load balancer that lost its route: Fault{Status: 404, HTML: true};
//   - a WAF or proxy refusing: Fault{Status: 403, HTML: true};
//   - an exchange shedding load: Fault{Status: 503, RetryAfter: "5"};
//   - a proxy sending the client elsewhere: Fault{Redirect: url} (307) or
//     Fault{Redirect: url, Status: 308}.
//
// To order events against a request, [Exchange.Hold] pauses the next
// request to an endpoint after the exchange has applied it and before its
// answer is written:
//
//	h := ex.Hold(traderapi.PathRefresh)
//	go refresh()
//	<-h.Arrived() // the new access token is issued, not yet delivered
//	logout()
//	h.Release()
//
// [NewServer] starts an Exchange on a loopback address and returns a
// [Server] that can build a [traderapi.Client] wired to it.
//
// The package does not import "testing": the sandbox command uses it at run
// time. Everything in it is safe for concurrent use.
package traderapitest
