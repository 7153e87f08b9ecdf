package traderapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// FuzzRedactJSON: whatever a body holds around it, the value of a secret
// field never survives RedactJSON, at the top level or nested.
func FuzzRedactJSON(f *testing.F) {
	f.Add("hunter2-secret", "note", "accessToken")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "x", "refreshToken")
	f.Add("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "y", "enrollmentUrl")
	f.Fuzz(func(t *testing.T, secret, other, field string) {
		if len(secret) < 8 || !traderapi.IsSensitiveKey(field) {
			return
		}
		body, err := json.Marshal(map[string]any{field: secret, "other": other, "nested": []any{map[string]any{field: secret}}})
		if err != nil {
			return
		}
		enc, _ := json.Marshal(secret)
		quoted := string(enc[1 : len(enc)-1])
		// Only a secret that appears nowhere but in its own values can be checked.
		rest, _ := json.Marshal(map[string]any{field: "", "other": other, "nested": []any{map[string]any{field: ""}}})
		if strings.Contains(string(rest), quoted) || strings.Contains(string(rest), secret) {
			return
		}
		out := traderapi.RedactJSON(body)
		if strings.Contains(out, quoted) || strings.Contains(out, secret) {
			t.Fatalf("secret survived RedactJSON: %q", out)
		}
	})
}

// FuzzRedactText: RedactText never panics and leaves no complete JWT.
func FuzzRedactText(f *testing.F) {
	f.Add("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here")
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		out := traderapi.RedactText(s)
		for _, part := range strings.Fields(out) {
			if strings.HasPrefix(part, "eyJ") && strings.Count(part, ".") == 2 && !strings.Contains(part, "[REDACTED]") {
				p := strings.Split(part, ".")
				if len(p[1]) > 0 && len(p[2]) > 0 && isB64(p[0]) && isB64(p[1]) && isB64(p[2]) {
					t.Fatalf("a JWT survived RedactText: %q", out)
				}
			}
		}
	})
}

func isB64(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}
