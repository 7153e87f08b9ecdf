package traderapitest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// isvMaxAssertionLifetime is the most exp may be after iat (the ISV authentication guide).
const isvMaxAssertionLifetime = 300 * time.Second

// isvVerdict is the outcome of checking a token request: the client and its
// scopes, or the OAuth error to answer.
type isvVerdict struct {
	clientID string
	scopes   []string
	status   int
	code     string
	desc     string
}

func isvRefuse(status int, code, format string, args ...any) isvVerdict {
	return isvVerdict{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

// badAssertion is the answer to an assertion with wrong claims.
func badAssertion(format string, args ...any) isvVerdict {
	return isvRefuse(http.StatusUnauthorized, "invalid_client_assertion", format, args...)
}

// tokenEndpoint is the URL a client assertion's aud must name.
func (a *AuthServer) tokenEndpoint(r *http.Request) string {
	if a.opts.Issuer != "" {
		return a.opts.Issuer + "/oauth/token"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/oauth/token"
}

// check applies every rule of the ISV authentication and troubleshooting
// guides to a token request.
func (a *AuthServer) check(r *http.Request, p map[string]string) isvVerdict {
	if p["grant_type"] != "client_credentials" {
		return isvRefuse(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	if p["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return isvRefuse(http.StatusBadRequest, "invalid_request",
			"client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	}
	assertion := p["client_assertion"]
	if assertion == "" {
		return isvRefuse(http.StatusBadRequest, "invalid_request", "client_assertion is required")
	}
	header, claims, err := isvDecodeUnverified(assertion)
	if err != nil {
		return badAssertion("the client assertion is not a JWT: %v", err)
	}
	if alg, _ := header["alg"].(string); alg != "RS256" {
		return badAssertion("alg must be RS256, got %q", alg)
	}
	for _, c := range []string{"iss", "sub", "aud", "iat", "exp", "jti"} {
		if _, ok := claims[c]; !ok {
			return badAssertion("missing required claim %q", c)
		}
	}
	iss, _ := claims["iss"].(string)
	clientID := p["client_id"]
	if clientID == "" {
		clientID = iss
	}
	a.mu.Lock()
	client := a.clients[clientID]
	a.mu.Unlock()
	if client == nil {
		return isvRefuse(http.StatusUnauthorized, "invalid_client", "unknown client %q", clientID)
	}
	_, err = jwt.Parse(assertion, func(*jwt.Token) (any, error) { return client.pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return isvRefuse(http.StatusUnauthorized, "invalid_client",
			"the client assertion's signature does not verify with the public key registered for %q", clientID)
	}
	if v := a.checkClaims(r, clientID, claims); v.code != "" {
		return v
	}
	if aud := p["audience"]; aud != a.opts.Audience {
		return isvRefuse(http.StatusForbidden, "access_denied", "Service not enabled within domain: %s", aud)
	}
	return isvVerdict{clientID: clientID, scopes: grantScopes(client.scopes, p["scope"])}
}

// checkClaims checks a verified assertion's claims and records its jti.
func (a *AuthServer) checkClaims(r *http.Request, clientID string, c map[string]any) isvVerdict {
	if iss, _ := c["iss"].(string); iss != clientID {
		return badAssertion("iss must be the client ID %q", clientID)
	}
	if sub, _ := c["sub"].(string); sub != clientID {
		return badAssertion("sub must be the client ID %q", clientID)
	}
	want := a.tokenEndpoint(r)
	if aud, _ := c["aud"].(string); aud != want && !isvAudList(c["aud"], want) {
		return badAssertion("aud must be the token endpoint %s, not %q", want, c["aud"])
	}
	iat, ok1 := c["iat"].(float64)
	exp, ok2 := c["exp"].(float64)
	jti, ok3 := c["jti"].(string)
	if !ok1 || !ok2 {
		return badAssertion("iat and exp must be numbers")
	}
	if !ok3 || jti == "" {
		return badAssertion("jti must be a non-empty string")
	}
	now := a.opts.Now()
	expAt, iatAt := time.Unix(int64(exp), 0), time.Unix(int64(iat), 0)
	switch {
	case !expAt.After(now):
		return badAssertion("the client assertion expired at %s (exp is in the past)", expAt.UTC().Format(time.RFC3339))
	case expAt.Sub(iatAt) > isvMaxAssertionLifetime:
		return badAssertion("exp is %s after iat; at most 5 minutes are allowed", expAt.Sub(iatAt))
	case iatAt.After(now.Add(a.opts.Leeway)):
		return badAssertion("iat is in the future (%s ahead); is the clock right?", iatAt.Sub(now))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for j, forget := range a.jtis {
		if now.After(forget) {
			delete(a.jtis, j)
		}
	}
	key := clientID + "\x00" + jti
	if _, seen := a.jtis[key]; seen {
		return badAssertion("jti %q was already used; use a fresh one for every request", jti)
	}
	a.jtis[key] = expAt.Add(a.opts.Leeway)
	return isvVerdict{}
}

func isvAudList(aud any, want string) bool {
	list, ok := aud.([]any)
	return ok && slices.Contains(list, any(want))
}

// grantScopes returns the registered scopes, narrowed to the requested ones
// when a scope parameter was sent.
func grantScopes(registered []string, requested string) []string {
	if requested == "" {
		return registered
	}
	var out []string
	for _, s := range strings.Fields(requested) {
		if slices.Contains(registered, s) {
			out = append(out, s)
		}
	}
	return out
}

// isvDecodeUnverified decodes a JWT's header and claims without checking
// anything.
func isvDecodeUnverified(token string) (header, claims map[string]any, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("%d parts, expected 3", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil {
			return nil, nil, errors.New("not base64url")
		}
		if err := json.Unmarshal(raw, dst); err != nil || *dst == nil {
			return nil, nil, errors.New("not a JSON object")
		}
	}
	return header, claims, nil
}

// VerifyAccessToken checks an access token the server issued: its RS256
// signature, exp, aud and that it was not revoked. It returns the claims.
func (a *AuthServer) VerifyAccessToken(token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &a.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(a.opts.Audience),
		jwt.WithTimeFunc(a.opts.Now), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	if a.isRevoked(token) {
		return nil, errors.New("the token was revoked")
	}
	return claims, nil
}

// jwk is the server's signing key as a JWK.
func (a *AuthServer) jwk() map[string]string {
	pub := a.key.PublicKey
	return map[string]string{
		"kty": "RSA", "kid": a.kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}
