package isv_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/session/isv"
)

// TestLoadPrivateKeyDEREndingInSpaceByte: a DER key whose last byte happens
// to be an ASCII space or control character still gets the DER hint.
func TestLoadPrivateKeyDEREndingInSpaceByte(t *testing.T) {
	t.Parallel()
	for range 2000 {
		k, err := rsa.GenerateKey(rand.Reader, 1024) // small: only the format matters here
		if err != nil {
			t.Fatal(err)
		}
		der := x509.MarshalPKCS1PrivateKey(k)
		if !strings.ContainsRune("\t\n\v\f\r ", rune(der[len(der)-1])) {
			continue
		}
		_, err = isv.LoadPrivateKey(der)
		if err == nil || !strings.Contains(err.Error(), "-inform DER") {
			t.Fatalf("DER key ending in byte %#x: %v, want the DER conversion hint", der[len(der)-1], err)
		}
		return
	}
	t.Fatal("no DER key ending in a space byte in 2000 tries")
}
