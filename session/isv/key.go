package isv

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pmx-login/pmx-login/internal/isvkit"
)

// ErrBadKey matches every error about a private or public key that cannot
// be used. The errors say what to do; they never contain key material.
var ErrBadKey = isvkit.ErrBadKey

// LoadPrivateKey parses an RSA private key from PEM: PKCS#1 ("RSA PRIVATE
// KEY", as the authentication troubleshooting guide shows) or PKCS#8 ("PRIVATE KEY", what OpenSSL 3's genrsa
// writes). Other inputs are refused with an error that says how to convert
// them: a DER file, a JWK, an encrypted key, an EC, Ed25519 or OpenSSH key, a
// public key, or a key shorter than 2048 bits. The errors match
// [ErrBadKey] and never contain key bytes.
func LoadPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, isvkit.BadKey("the private key is empty; %s", isvkit.GenerateHint)
	}
	if trimmed[0] == '{' {
		if bytes.Contains(trimmed, []byte(`"kty"`)) {
			return nil, isvkit.BadKey("the private key is a JWK (JSON Web Key), not PEM; convert it to PEM first, " +
				"e.g. with `step crypto key format --pem --out key.pem key.jwk` (smallstep CLI) or the jwk-to-pem npm package")
		}
		return nil, isvkit.BadKey("the private key is JSON, not PEM; it must start with -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----")
	}
	rest := data
	sawPublic := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY":
			return nil, isvkit.BadKey("the private key is encrypted with a passphrase; write a decrypted copy (kept private) " +
				"with: openssl rsa -in key.pem -out key-decrypted.pem")
		case block.Type == "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, isvkit.BadKey("the RSA PRIVATE KEY block does not parse (%v); is the file truncated or corrupted?", err)
			}
			return checkRSA(k)
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, isvkit.BadKey("the PRIVATE KEY block does not parse as PKCS#8 (%v); is the file truncated or corrupted?", err)
			}
			return rsaOnly(k)
		case block.Type == "EC PRIVATE KEY":
			return nil, isvkit.BadKey("this is an EC key; RS256 needs an RSA key: %s", isvkit.GenerateHint)
		case block.Type == "OPENSSH PRIVATE KEY":
			return nil, isvkit.BadKey("this is an OpenSSH key, not PEM; for an RSA one, rewrite it as PEM with: " +
				"ssh-keygen -p -m PEM -f key (this edits the file in place), or " + isvkit.GenerateHint)
		case strings.Contains(block.Type, "PUBLIC KEY") || block.Type == "CERTIFICATE":
			sawPublic = true
		}
	}
	if sawPublic {
		return nil, isvkit.BadKey("the file holds a public key or certificate only; the client signs with the private key " +
			"(the file given to openssl genrsa -out, not the -pubout one)")
	}
	if data[0] == 0x30 || trimmed[0] == 0x30 { // an ASN.1 SEQUENCE: DER (parsed untrimmed: its last byte may be "whitespace")
		for _, der := range [][]byte{data, trimmed} {
			if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
				return nil, derError()
			}
			if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
				return nil, derError()
			}
		}
		return nil, isvkit.BadKey("the private key looks like binary DER but does not parse; if it is a PKCS#12 (.p12/.pfx) file, " +
			"extract the key with: openssl pkcs12 -in key.p12 -nocerts -nodes -out key.pem")
	}
	return nil, isvkit.BadKey("the private key is not PEM: expected -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----; %s", isvkit.GenerateHint)
}

func derError() error {
	return isvkit.BadKey("the private key is DER (binary), not PEM; convert it with: openssl rsa -inform DER -in key.der -out key.pem")
}

// rsaOnly accepts an RSA key from PKCS#8 and names any other kind.
func rsaOnly(k any) (*rsa.PrivateKey, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return checkRSA(k)
	case *ecdsa.PrivateKey, *ecdh.PrivateKey:
		return nil, isvkit.BadKey("this is an EC key; RS256 needs an RSA key: %s", isvkit.GenerateHint)
	case ed25519.PrivateKey:
		return nil, isvkit.BadKey("this is an Ed25519 key; RS256 needs an RSA key: %s", isvkit.GenerateHint)
	default:
		return nil, isvkit.BadKey("this is a %T key; RS256 needs an RSA key: %s", k, isvkit.GenerateHint)
	}
}

// checkRSA refuses short or inconsistent keys.
func checkRSA(k *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	if bits := k.N.BitLen(); bits < isvkit.MinKeyBits {
		return nil, isvkit.BadKey("the RSA key has %d bits; at least %d are needed: %s", bits, isvkit.MinKeyBits, isvkit.GenerateHint)
	}
	if err := k.Validate(); err != nil {
		return nil, isvkit.BadKey("the RSA key is inconsistent (%v); is the file corrupted?", err)
	}
	return k, nil
}

// maxKeyFileSize caps the bytes [LoadPrivateKeyFile] reads: 64 KiB, far
// above any RSA key in PEM (a 4096-bit one is about 3.3 KiB).
const maxKeyFileSize = 64 << 10

// LoadPrivateKeyFile reads a PEM private key file with [LoadPrivateKey],
// reading at most 64 KiB: a larger file (or a device such
// as /dev/zero) is refused with an error matching [ErrBadKey]. Errors name
// the file, never its contents.
func LoadPrivateKeyFile(path string) (*rsa.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := LoadPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// readKeyFile reads at most MaxKeyFileSize bytes of a key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("isv: read private key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("isv: read private key: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%s: %w", path, isvkit.BadKey("the file is over %d KiB, the most a private key file may be; "+
			"is this the key file?", maxKeyFileSize>>10))
	}
	return data, nil
}
