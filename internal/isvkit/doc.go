// Package isvkit is what the ISV tools around package isv share and a bot
// does not need: RSA key generation and PEM/JWK encoding (pmx-login isv
// keygen, the sandbox), the assertion linter (pmx-login doctor), and the
// limits of the token endpoint they all check against. Package isv uses
// it too; being internal, none of it is a promise to bots.
package isvkit

import "time"

// MaxAssertionLifetime is the longest exp − iat the token endpoint accepts
// in a client assertion (the authentication troubleshooting guide).
const MaxAssertionLifetime = 300 * time.Second
