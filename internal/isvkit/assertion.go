package isvkit

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAssertionLifetime is the exp − iat of the assertions an
// isv.Source signs: well under the 5 minutes the token endpoint accepts, long enough for a slow network.
const DefaultAssertionLifetime = 120 * time.Second

// AssertionClaims are the claims of one client assertion.
type AssertionClaims struct {
	// ClientID is both iss and sub.
	ClientID string
	// Audience is aud: the token endpoint URL, https://{authDomain}/oauth/token
	// (not the API).
	Audience string
	// IssuedAt is iat; exp is IssuedAt + Lifetime.
	IssuedAt time.Time
	// Lifetime is exp − iat, more than 0 and at most the 5 minutes the token endpoint accepts.
	Lifetime time.Duration
	// ID is jti, unique for every request (a fresh UUID).
	ID string
}

func (c AssertionClaims) validate() error {
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "ClientID (iss, sub)")
	}
	if c.Audience == "" {
		missing = append(missing, "Audience (aud)")
	}
	if c.IssuedAt.IsZero() {
		missing = append(missing, "IssuedAt (iat)")
	}
	if c.ID == "" {
		missing = append(missing, "ID (jti)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("isv: client assertion: missing %s", strings.Join(missing, ", "))
	}
	if c.Lifetime <= 0 || c.Lifetime > MaxAssertionLifetime {
		return fmt.Errorf("isv: client assertion: lifetime %s is outside (0, %s]", c.Lifetime, MaxAssertionLifetime)
	}
	if c.Lifetime%time.Second != 0 {
		return fmt.Errorf("isv: client assertion: lifetime %s is not a whole number of seconds", c.Lifetime)
	}
	return nil
}

// SignAssertion signs a client assertion with RS256 and nothing else: a JWT
// with header {"alg":"RS256","typ":"JWT"} and claims iss, sub, aud (a single
// string), iat, exp and jti. An isv.Source signs each of its assertions
// with it; pmx-login doctor lints one.
func SignAssertion(key *rsa.PrivateKey, c AssertionClaims) (string, error) {
	if key == nil {
		return "", errors.New("isv: client assertion: no private key")
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	iat := c.IssuedAt.Unix()
	claims := jwt.MapClaims{
		"iss": c.ClientID,
		"sub": c.ClientID,
		"aud": c.Audience,
		"iat": iat,
		"exp": iat + int64(c.Lifetime/time.Second),
		"jti": c.ID,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("isv: sign client assertion: %w", err)
	}
	return signed, nil
}
