package isvkit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// MinKeyBits is the smallest RSA key accepted, as in the ISV authentication guide's
// "openssl genrsa ... 2048".
const MinKeyBits = 2048

// ErrBadKey matches every error about a private or public key that cannot
// be used. The errors say what to do; they never contain key material.
var ErrBadKey = errors.New("unusable key")

// keyError is an [ErrBadKey] with a message saying what to do.
type keyError struct{ msg string }

func (e *keyError) Error() string        { return "isv: " + e.msg }
func (e *keyError) Is(target error) bool { return target == ErrBadKey }

// BadKey returns an error matching [ErrBadKey] with the message format
// makes.
func BadKey(format string, args ...any) error { return &keyError{msg: fmt.Sprintf(format, args...)} }

// GenerateHint says how to make a key, for key errors.
const GenerateHint = "generate one with: openssl genrsa -out private_key.pem 2048"

// GenerateKey returns a new RSA key of the given size (at least
// [MinKeyBits]), like openssl genrsa.
func GenerateKey(bits int) (*rsa.PrivateKey, error) {
	if bits < MinKeyBits {
		return nil, BadKey("a %d-bit key is too short; use at least %d bits", bits, MinKeyBits)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("isv: generate key: %w", err)
	}
	return k, nil
}

// MarshalPrivateKeyPEM encodes the key as PKCS#1 PEM ("RSA PRIVATE KEY"),
// the form the authentication troubleshooting guide shows and the ISV authentication guide's Go example parses. Write it to a
// file of mode 0600.
func MarshalPrivateKeyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// MarshalPublicKeyPEM encodes the public key as PKIX PEM ("PUBLIC KEY"), as
// openssl rsa -pubout does: the file partners hand over at onboarding.
func MarshalPublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("isv: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM parses an RSA public key from PEM: PKIX ("PUBLIC KEY"),
// PKCS#1 ("RSA PUBLIC KEY") or a certificate.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, BadKey("the public key is not PEM: expected -----BEGIN PUBLIC KEY-----")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = c.PublicKey
		}
	default:
		return nil, BadKey("expected a PUBLIC KEY block, got %q", block.Type)
	}
	if err != nil {
		return nil, BadKey("the public key does not parse (%v)", err)
	}
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, BadKey("the public key is a %T, not RSA", pub)
	}
	return rpub, nil
}

// PublicKeyMatches reports whether pubPEM (the public key registered at
// onboarding) is the public half of priv: the check for invalid_client.
func PublicKeyMatches(priv *rsa.PrivateKey, pubPEM []byte) (bool, error) {
	if priv == nil {
		return false, BadKey("no private key")
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		return false, err
	}
	return priv.PublicKey.Equal(pub), nil
}
