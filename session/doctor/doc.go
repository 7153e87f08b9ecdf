// Package doctor diagnoses a pmx-login setup the way the exchange's
// troubleshooting guides do (the authentication troubleshooting guide and
// the 401 resolution guide), so that nobody has to decode
// tokens on a website, compare clocks by hand or read curl -v output.
//
// [Run] runs a fixed list of checks and returns a [Report]: each [Check] has
// a name, a [Status] (ok, warn, fail, skipped), what it saw and the fix. The
// CLI's `pmx-login doctor`, a bot's health endpoint and tests read the same
// report; it marshals to JSON as {"ok", "status", "checks": [{"name",
// "status", "saw", "fix"}]}.
//
// The checks, in order:
//
//   - reachability: DNS, TCP, TLS and HTTP to the environment's base URL with
//     its Host override, each named when it fails; a 421 (or a load
//     balancer's 404) means the Host override is missing or wrong;
//   - clock skew: the exchange's Date header against the local clock (warn
//     past 30 s, fail past the 300 s assertion window);
//   - stored session: present in the keystore, and its refresh expiry;
//   - access token: the cached token decoded without verification: expired,
//     expiring, issued for another environment (iss and aud), its scopes;
//   - trial refresh: [Config.Refresh] run once;
//   - for ISV partners ([ISVConfig]): the key file's format, the private key
//     against the registered public key, the client assertion linted against
//     every rule of the ISV authentication and troubleshooting guides, a real token request, the scopes the
//     named endpoints need, and x-participant-id for account-scoped ones.
//
// No check changes anything stored. Secrets never appear in a report: tokens
// and keys are [traderapi.Secret] values or never leave their check, and
// every text goes through [traderapi.RedactText] as a last guard.
package doctor
