package traderapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// sensitiveKeys are JSON fields and headers whose values are secrets, in
// lower case.
var sensitiveKeys = map[string]bool{
	"password": true, "oldpassword": true, "newpassword": true, "token": true,
	"accesstoken": true, "refreshtoken": true, "access_token": true, "refresh_token": true,
	"id_token": true, "otp": true, "enrollmenturl": true, "secret": true,
	"client_assertion": true, "client_secret": true, "authorization": true,
	"cookie": true, "set-cookie": true, "private_key": true,
}

// IsSensitiveKey reports whether a JSON field or header of this name holds a
// secret.
func IsSensitiveKey(name string) bool { return sensitiveKeys[strings.ToLower(name)] }

var (
	// jwtPattern matches anything shaped like a JWT (base64url parts, the
	// first starting with a JSON object), whole or cut short.
	jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}`)
	// sensitiveField matches the string value of a sensitive JSON field in
	// text that is not valid JSON, such as a truncated body, up to its
	// closing quote or the end of the text.
	sensitiveField = regexp.MustCompile(`(?i)("(?:` + strings.Join(slices.Sorted(maps.Keys(sensitiveKeys)), "|") +
		`)"\s*:\s*")(?:[^"\\]|\\.)+`)
	// otpauthSecret matches the secret parameter of an otpauth:// URL.
	otpauthSecret = regexp.MustCompile(`(?i)(secret=)[A-Z2-7=]+`)
	// keyBlock matches a PEM private key, whole or cut short.
	// Key data must follow the header (after any Proc-Type/DEK-Info lines),
	// so a message that only names the header ("expected -----BEGIN
	// PRIVATE KEY-----") is left readable.
	keyBlock = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\s*[A-Za-z-]+:[^\n]*\n)*\s*[A-Za-z0-9+/=]{4,}[^-]*(?:-----END [A-Z ]*PRIVATE KEY-----)?`)
)

// RedactText replaces anything in free text that looks like a token, a
// TOTP secret, a private key or the value of a sensitive JSON field (in a
// body too broken to parse) with "[REDACTED]".
func RedactText(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtPattern.ReplaceAllString(s, redacted)
	}
	if strings.Contains(s, `"`) {
		s = sensitiveField.ReplaceAllString(s, "${1}"+redacted)
	}
	s = otpauthSecret.ReplaceAllString(s, "${1}"+redacted)
	return keyBlock.ReplaceAllString(s, redacted)
}

// RedactJSON returns a JSON body with the value of every sensitive field
// replaced by "[REDACTED]", at any depth. A body that is not JSON is
// returned through [RedactText].
func RedactJSON(body []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return RedactText(string(body))
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return redacted
	}
	return RedactText(string(out))
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if IsSensitiveKey(k) {
				if s, ok := x.(string); ok && s == "" {
					continue
				}
				t[k] = redacted
				continue
			}
			t[k] = redactValue(x)
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	}
	return v
}

// RedactHeader returns a copy of h with every sensitive header's value
// replaced by "[REDACTED]".
func RedactHeader(h http.Header) http.Header {
	out := h.Clone()
	for k := range out {
		if IsSensitiveKey(k) {
			out[k] = []string{redacted}
		}
	}
	return out
}
