package isv

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/isvkit"
)

func TestLoadPrivateKeyAcceptsPKCS1AndPKCS8(t *testing.T) {
	t.Parallel()
	k1 := loadKey(t, "client-pkcs1.pem")
	k8 := loadKey(t, "client-pkcs8.pem")
	if !k1.Equal(k8) {
		t.Fatal("the PKCS#1 and PKCS#8 files of one key load as different keys")
	}
	if k1.N.BitLen() != 2048 {
		t.Fatalf("bits = %d", k1.N.BitLen())
	}
	// Leading text (as some tools write) and a public block first are fine.
	data, _ := os.ReadFile(filepath.Join("testdata", "client-pkcs8.pem"))
	pub, _ := os.ReadFile(filepath.Join("testdata", "client-public.pem"))
	k, err := LoadPrivateKey(append(append([]byte("Bag Attributes\n"), pub...), data...))
	if err != nil || !k.Equal(k1) {
		t.Fatalf("key after a public block: %v", err)
	}
}

// Each key a partner may have by mistake is refused with an error that says
// how to fix it, matches ErrBadKey, and quotes nothing of the file.
func TestLoadPrivateKeyExplainsWrongFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, want string }{
		{"client.der", "openssl rsa -inform DER -in key.der -out key.pem"},
		{"client.jwk", "JWK"},
		{"encrypted-pkcs1.pem", "openssl rsa -in key.pem -out key-decrypted.pem"},
		{"encrypted-pkcs8.pem", "openssl rsa -in key.pem -out key-decrypted.pem"},
		{"ec.pem", "RS256 needs an RSA key"},
		{"ec-pkcs8.pem", "RS256 needs an RSA key"},
		{"ed25519.pem", "Ed25519 key; RS256 needs an RSA key"},
		{"short-1024.pem", "1024 bits; at least 2048"},
		{"openssh-rsa.key", "ssh-keygen -p -m PEM"},
		{"client-public.pem", "public key"},
		{"README.md", "not PEM"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tc.file)
			_, err := LoadPrivateKeyFile(path)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("error %v does not match ErrBadKey", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q does not name the file", err)
			}
			assertNoKeyMaterial(t, err.Error(), path)
		})
	}
	for name, in := range map[string]string{"empty": "  \n", "json": `{"a":1}`, "binary": "\x30\x03\x02\x01\x00"} {
		if _, err := LoadPrivateKey([]byte(in)); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v, want ErrBadKey", name, err)
		}
	}
	if _, err := LoadPrivateKeyFile(filepath.Join("testdata", "absent.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v, want ErrNotExist", err)
	}
}

// assertNoKeyMaterial fails if s holds any 16-byte run of the file's
// base64 or JSON lines.
func assertNoKeyMaterial(t *testing.T, s, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.FieldsFuncSeq(string(data), func(r rune) bool { return r == '\n' || r == '"' }) {
		if strings.HasPrefix(line, "-----") || len(line) < 16 || strings.Contains(line, " ") {
			continue
		}
		if strings.Contains(s, line[:16]) {
			t.Fatalf("%q contains key material from %s", s, path)
		}
	}
}

func TestMarshalMatchesOpenSSL(t *testing.T) {
	t.Parallel()
	k := loadKey(t, "client-pkcs8.pem")
	pubPEM, err := isvkit.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", "client-public.pem"))
	if !bytes.Equal(pubPEM, want) {
		t.Fatalf("isvkit.MarshalPublicKeyPEM differs from openssl rsa -pubout:\n%s\nwant\n%s", pubPEM, want)
	}
	privPEM := isvkit.MarshalPrivateKeyPEM(k)
	want1, _ := os.ReadFile(filepath.Join("testdata", "client-pkcs1.pem"))
	if !bytes.Equal(privPEM, want1) {
		t.Fatal("isvkit.MarshalPrivateKeyPEM differs from openssl genrsa -traditional")
	}
	if ok, err := isvkit.PublicKeyMatches(k, want); err != nil || !ok {
		t.Fatalf("isvkit.PublicKeyMatches(own public key) = %v, %v", ok, err)
	}
	if ok, err := isvkit.PublicKeyMatches(loadKey(t, "other-pkcs8.pem"), want); err != nil || ok {
		t.Fatalf("isvkit.PublicKeyMatches(other key) = %v, %v", ok, err)
	}
	if _, err := isvkit.PublicKeyMatches(k, []byte("garbage")); !errors.Is(err, ErrBadKey) {
		t.Fatalf("isvkit.PublicKeyMatches(garbage) = %v", err)
	}
}

func TestPublicJWKMatchesTheKey(t *testing.T) {
	t.Parallel()
	k := loadKey(t, "client-pkcs1.pem")
	raw, err := isvkit.PublicJWK(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var got, full map[string]string
	_ = json.Unmarshal(raw, &got)
	data, _ := os.ReadFile(filepath.Join("testdata", "client.jwk")) // exported by node's crypto
	_ = json.Unmarshal(data, &full)
	if got["n"] != full["n"] || got["e"] != full["e"] || got["kty"] != "RSA" || got["alg"] != "RS256" {
		t.Fatalf("JWK = %v", got)
	}
	if _, ok := got["d"]; ok {
		t.Fatal("the public JWK carries the private exponent")
	}
	if got["kid"] != isvkit.Thumbprint(&k.PublicKey) || len(got["kid"]) != 43 {
		t.Fatalf("kid = %q", got["kid"])
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	if _, err := isvkit.GenerateKey(1024); !errors.Is(err, ErrBadKey) {
		t.Fatalf("isvkit.GenerateKey(1024) = %v", err)
	}
	k, err := isvkit.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadPrivateKey(isvkit.MarshalPrivateKeyPEM(k))
	if err != nil || !back.Equal(k) {
		t.Fatalf("round trip: %v", err)
	}
}

func FuzzLoadPrivateKey(f *testing.F) {
	for _, name := range []string{"client-pkcs1.pem", "client.der", "client.jwk", "encrypted-pkcs1.pem", "ec.pem"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := LoadPrivateKey(data)
		if (k == nil) == (err == nil) {
			t.Fatalf("key %v with error %v", k != nil, err)
		}
		if err != nil && !errors.Is(err, ErrBadKey) {
			t.Fatalf("error %v does not match ErrBadKey", err)
		}
	})
}
