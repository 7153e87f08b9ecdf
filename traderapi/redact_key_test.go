package traderapi_test

import (
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TestRedactTextKeys: key data is redacted, whole, cut short or encrypted;
// a message that only names the PEM header stays readable.
func TestRedactTextKeys(t *testing.T) {
	t.Parallel()
	const body = "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
	for _, in := range []string{
		"-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----",
		"key: -----BEGIN PRIVATE KEY-----\n" + body[:40],
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF\n\n" + body + "\n-----END RSA PRIVATE KEY-----",
	} {
		if out := traderapi.RedactText(in); strings.Contains(out, body[:20]) {
			t.Errorf("key data not redacted: %q", out)
		}
	}
	const hint = "expected -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----; run openssl"
	if out := traderapi.RedactText(hint); out != hint {
		t.Errorf("a message naming the header was redacted: %q", out)
	}
}
