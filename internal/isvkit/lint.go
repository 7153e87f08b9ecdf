package isvkit

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Rules a client assertion is linted against: each is one mistake the authentication troubleshooting guide
// lists, named so that a caller (and the doctor command) can branch on it.
const (
	RuleFormat         = "format"        // not a three-part JWT with JSON header and claims
	RuleAlgorithm      = "alg"           // not RS256 (HS256, RS384, PS256, none…)
	RuleSignature      = "signature"     // does not verify with the expected public key
	RuleMissingClaim   = "missing-claim" // iss, sub, aud, iat, exp or jti absent
	RuleIssuer         = "iss"           // iss or sub is not the client ID
	RuleAudience       = "aud"           // aud is not the token endpoint (often: the API URL)
	RuleExpired        = "expired"       // exp is not in the future
	RuleLifetime       = "lifetime"      // exp − iat over 300 s, or not positive
	RuleIssuedInFuture = "iat-future"    // iat ahead of the clock (skew)
	RuleJTI            = "jti"           // jti not a fresh-looking unique ID
)

// Expectations are what [LintAssertion] checks an assertion against.
type Expectations struct {
	// ClientID is the expected iss and sub.
	ClientID string
	// Audience is the expected aud: the token endpoint URL.
	Audience string
	// APIAudience, when set, lets the linter say that aud is the API URL,
	// the most common mistake.
	APIAudience string
	// Now is the time exp and iat are checked against; zero means time.Now().
	Now time.Time
	// Leeway is the clock skew allowed for iat (default 30 s).
	Leeway time.Duration
	// PublicKey, when set, is the key the signature must verify with.
	PublicKey *rsa.PublicKey
}

// Problem is one rule an assertion breaks.
type Problem struct {
	// Rule is one of the Rule constants.
	Rule string
	// Message says what is wrong and what is expected; it holds claim
	// values, never the token.
	Message string
}

// String returns "rule: message".
func (p Problem) String() string { return p.Rule + ": " + p.Message }

// LintAssertion checks a client assertion against every rule of the ISV
// authentication and troubleshooting guides and returns the problems found, none for a good one. It decodes the
// token itself and verifies the signature only when want.PublicKey is set.
func LintAssertion(token string, want Expectations) []Problem {
	var ps []Problem
	add := func(rule, format string, args ...any) {
		ps = append(ps, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		add(RuleFormat, "a JWT has 3 dot-separated parts, this has %d", len(parts))
		return ps
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims map[string]any
	if DecodePart(parts[0], &header) != nil || DecodePart(parts[1], &claims) != nil {
		add(RuleFormat, "the header or claims are not base64url-encoded JSON objects")
		return ps
	}
	if header.Alg != "RS256" {
		add(RuleAlgorithm, "alg is %q; the token endpoint accepts RS256 only", header.Alg)
	} else if want.PublicKey != nil {
		_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return want.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
		if err != nil {
			add(RuleSignature, "the signature does not verify with the registered public key")
		}
	}
	for _, c := range []string{"iss", "sub", "aud", "iat", "exp", "jti"} {
		if _, ok := claims[c]; !ok {
			add(RuleMissingClaim, "claim %q is missing", c)
		}
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	if v := str("iss"); claims["iss"] != nil && v != want.ClientID {
		add(RuleIssuer, "iss is %q, must be the client ID %q", v, want.ClientID)
	}
	if v := str("sub"); claims["sub"] != nil && v != want.ClientID {
		add(RuleIssuer, "sub is %q, must be the client ID %q", v, want.ClientID)
	}
	lintAudience(claims["aud"], want, add)
	lintTimes(claims, want, add)
	if v, ok := claims["jti"]; ok {
		if s, _ := v.(string); s == "" {
			add(RuleJTI, "jti must be a non-empty string, unique per request")
		} else if _, err := uuid.Parse(s); err != nil {
			add(RuleJTI, "jti %q is not a UUID; use a fresh random UUID for every request", s)
		}
	}
	return ps
}

func lintAudience(aud any, want Expectations, add func(string, string, ...any)) {
	if aud == nil {
		return
	}
	var auds []string
	switch v := aud.(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, a := range v {
			s, _ := a.(string)
			auds = append(auds, s)
		}
	}
	for _, a := range auds {
		if a == want.Audience {
			return
		}
	}
	got := strings.Join(auds, ", ")
	if want.APIAudience != "" && strings.TrimRight(got, "/") == strings.TrimRight(want.APIAudience, "/") {
		add(RuleAudience, "aud is the API URL %q; the client assertion's aud must be the token endpoint %q", got, want.Audience)
		return
	}
	add(RuleAudience, "aud is %q, must be the token endpoint %q", got, want.Audience)
}

func lintTimes(claims map[string]any, want Expectations, add func(string, string, ...any)) {
	now := want.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := want.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	iat, iatOK := claims["iat"].(float64)
	exp, expOK := claims["exp"].(float64)
	if _, present := claims["exp"]; present && !expOK {
		add(RuleFormat, "exp must be a number of seconds since 1970")
	}
	if _, present := claims["iat"]; present && !iatOK {
		add(RuleFormat, "iat must be a number of seconds since 1970")
	}
	if expOK && !time.Unix(int64(exp), 0).After(now) {
		add(RuleExpired, "exp %s is not in the future (now %s); is the clock right?",
			time.Unix(int64(exp), 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if iatOK && time.Unix(int64(iat), 0).After(now.Add(leeway)) {
		add(RuleIssuedInFuture, "iat is %s ahead of the clock; synchronise it with NTP",
			time.Unix(int64(iat), 0).Sub(now).Round(time.Second))
	}
	if iatOK && expOK {
		// In seconds, as the claims are: a Duration would wrap past 292 years.
		if secs := exp - iat; !(secs > 0) || secs > MaxAssertionLifetime.Seconds() {
			add(RuleLifetime, "exp − iat is %s; it must be positive and at most %s", secondsString(secs), MaxAssertionLifetime)
		}
	}
}

// secondsString shows a number of seconds as a Duration does ("10m0s"),
// or in seconds where a Duration cannot hold it.
func secondsString(secs float64) string {
	if math.Abs(secs) < math.MaxInt64/float64(time.Second) {
		return time.Duration(secs * float64(time.Second)).String()
	}
	return strconv.FormatFloat(secs, 'g', -1, 64) + "s"
}

// DecodePart decodes one base64url JWT part as JSON into v.
func DecodePart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
