package isvkit

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// PublicJWK returns the public key as a JSON Web Key (RFC 7517) with "kid"
// set to its RFC 7638 thumbprint, "use" "sig" and "alg" "RS256": the form
// standard OAuth servers (and oidc-provider) register a client's key in.
func PublicJWK(pub *rsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.N == nil {
		return nil, BadKey("no public key")
	}
	n := b64(pub.N.Bytes())
	e := b64(big.NewInt(int64(pub.E)).Bytes())
	return json.Marshal(map[string]string{
		"kty": "RSA", "n": n, "e": e, "kid": Thumbprint(pub), "use": "sig", "alg": "RS256",
	})
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the public key,
// base64url: a name for a key that reveals nothing secret.
func Thumbprint(pub *rsa.PublicKey) string {
	if pub == nil || pub.N == nil {
		return ""
	}
	// RFC 7638: the required members in lexicographic order, no whitespace.
	canon := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
