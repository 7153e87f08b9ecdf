package doctor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Decoded is a JWT's header and claims, read without verifying anything.
// Numbers are kept as [json.Number], so they print as sent.
type Decoded struct {
	Header map[string]any
	Claims map[string]any
	// Signed reports whether the token has a signature part. The
	// signature itself is never kept.
	Signed bool
}

// partNames name the three parts of a JWT in errors.
var partNames = [3]string{"header", "claims", "signature"}

// DecodeJWT decodes a compact JWT (header.claims.signature) without
// verifying its signature or its times: the troubleshooting guides' "decode
// your token at jwt.io", offline. Surrounding spaces and a "Bearer " prefix
// are ignored. The error says which part is bad and never quotes the token.
func DecodeJWT(token string) (*Decoded, error) {
	token = strings.TrimSpace(token)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	if token == "" {
		return nil, errors.New("the token is empty")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		hint := ""
		if len(parts) < 3 {
			hint = "; is it cut short?"
		}
		return nil, fmt.Errorf("a JWT has 3 dot-separated parts (header.claims.signature), this has %d%s", len(parts), hint)
	}
	d := &Decoded{Signed: parts[2] != ""}
	for i, dst := range []*map[string]any{&d.Header, &d.Claims} {
		if err := decodeSegment(parts[i], dst); err != nil {
			return nil, fmt.Errorf("part %d of 3 (the %s) %w", i+1, partNames[i], err)
		}
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "=")); err != nil {
		return nil, fmt.Errorf("part 3 of 3 (the signature) is not base64url (%s); is the token cut short or mangled?", base64Problem(err))
	}
	return d, nil
}

// decodeSegment decodes one base64url part as a JSON object.
func decodeSegment(seg string, dst *map[string]any) error {
	if seg == "" {
		return errors.New("is empty")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return fmt.Errorf("is not base64url (%s); is the token cut short or mangled?", base64Problem(err))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil || *dst == nil || dec.More() {
		return errors.New("is not a JSON object; is the token cut short?")
	}
	return nil
}

// base64Problem describes a base64 error without quoting the input.
func base64Problem(err error) string {
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Sprintf("bad character or length at byte %d", int64(ce))
	}
	return "invalid"
}

// Time returns a NumericDate claim ("exp", "iat", "nbf") as a time.
func (d *Decoded) Time(name string) (time.Time, bool) {
	var f float64
	switch v := d.Claims[name].(type) {
	case json.Number:
		x, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		f = x
	case float64:
		f = v
	default:
		return time.Time{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < -1e12 || f > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// Str returns a string claim, "" if absent or not a string.
func (d *Decoded) Str(name string) string {
	s, _ := d.Claims[name].(string)
	return s
}

// Audience returns the "aud" claim, a string or a list of strings.
func (d *Decoded) Audience() []string { return strList(d.Claims["aud"]) }

// Scopes returns the token's scopes: the space-separated "scope" claim, or
// an Auth0 "permissions" or "scp" list.
func (d *Decoded) Scopes() []string {
	if s, ok := d.Claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	for _, k := range []string{"scp", "permissions"} {
		if v := strList(d.Claims[k]); len(v) > 0 {
			if len(v) == 1 {
				return strings.Fields(v[0])
			}
			return v
		}
	}
	return nil
}

func strList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
