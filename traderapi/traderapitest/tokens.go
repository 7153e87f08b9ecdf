package traderapitest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// grant is the server-side state of one access or refresh token.
type grant struct {
	user    string
	issued  time.Time
	expires time.Time
	revoked bool
}

// tokenClaims are the claims of access tokens and JWT refresh tokens.
type tokenClaims struct {
	jwt.RegisteredClaims
	Use string `json:"token_use"`
}

// parseJWT checks an HS256 JWT's signature under the exchange key and
// decodes its claims. Expiry is the caller's business: it is checked
// against the exchange clock, not the wall clock.
func (e *Exchange) parseJWT(tok string, claims jwt.Claims) (*jwt.Token, error) {
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation())
	return p.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return e.key, nil })
}

// signJWT signs claims with the exchange key.
func (e *Exchange) signJWT(user, use string, issued, expires time.Time) (string, string) {
	jti := uuid.NewString()
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    e.issuer,
			Subject:   user,
			Audience:  jwt.ClaimStrings{e.host},
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        jti,
		},
		Use: use,
	}).SignedString(e.key) // HMAC signing with a non-empty key does not fail
	return tok, jti
}

// issueAccess mints an access token for user; e.mu must be held.
func (e *Exchange) issueAccess(user string) (string, *grant) {
	now := e.now()
	g := &grant{user: user, issued: now, expires: now.Add(e.accessTTL)}
	tok, jti := e.signJWT(user, "access", g.issued, g.expires)
	e.access[jti] = g
	return tok, g
}

// issueRefresh mints a refresh token for user; e.mu must be held.
func (e *Exchange) issueRefresh(user string) (string, *grant) {
	now := e.now()
	g := &grant{user: user, issued: now, expires: now.Add(e.refreshTTL)}
	var tok string
	if e.jwtRefresh {
		tok, _ = e.signJWT(user, "refresh", g.issued, g.expires)
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		tok = "rt_" + base64.RawURLEncoding.EncodeToString(b)
	}
	e.refresh[tokenKey(tok)] = g
	return tok, g
}

// tokenKey is the map key of a refresh token: its SHA-256, so that the
// exchange's state holds no usable token.
func tokenKey(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return string(sum[:])
}

// checkAccess finds the live grant of a raw access token; e.mu must be held.
func (e *Exchange) checkAccess(tok string) (*grant, error) {
	var claims tokenClaims
	if _, err := e.parseJWT(tok, &claims); err != nil || claims.Use != "access" {
		return nil, errors.New("invalid access token")
	}
	g, ok := e.access[claims.ID]
	switch {
	case !ok:
		return nil, errors.New("invalid access token")
	case g.revoked:
		return nil, errors.New("access token revoked")
	case !e.now().Before(g.expires):
		return nil, errors.New("access token expired")
	}
	return g, nil
}

// checkRefresh finds the live grant of a refresh token; e.mu must be held.
func (e *Exchange) checkRefresh(tok string) (*grant, error) {
	g, ok := e.refresh[tokenKey(tok)]
	switch {
	case !ok:
		return nil, errors.New("invalid refresh token")
	case g.revoked:
		return nil, errors.New("refresh token revoked")
	case !e.now().Before(g.expires):
		return nil, errors.New("refresh token expired: log in again")
	}
	return g, nil
}

// authorize checks the raw access token in the Authorization header, as
// logout and the trading endpoints do; e.mu must be held. It returns the
// token's grant, or the 401 to send.
func (e *Exchange) authorize(r *http.Request) (*grant, *reply) {
	h := r.Header.Get("Authorization")
	if h == "" {
		rep := unauthenticated("missing Authorization header: send the raw access token")
		return nil, &rep
	}
	if scheme, _, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		rep := unauthenticated(`the "Bearer " prefix is not accepted: send the raw access token in the Authorization header`)
		return nil, &rep
	}
	g, err := e.checkAccess(h)
	if err != nil {
		rep := unauthenticated(err.Error())
		return nil, &rep
	}
	return g, nil
}

// Authenticate reports which user a raw access token belongs to, or why it
// is not accepted (invalid, revoked or expired at the exchange clock).
func (e *Exchange) Authenticate(accessToken string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.checkAccess(accessToken)
	if err != nil {
		return "", fmt.Errorf("traderapitest: %w", err)
	}
	return g.user, nil
}

// RevokeRefreshTokens revokes every refresh token of username, as an
// administrator would; later refreshes with them get 401.
func (e *Exchange) RevokeRefreshTokens(username string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	revokeAll(e.refresh, username)
}

// RevokeAccessTokens revokes every access token of username; later calls
// with them get 401.
func (e *Exchange) RevokeAccessTokens(username string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	revokeAll(e.access, username)
}

func revokeAll(grants map[string]*grant, username string) {
	for _, g := range grants {
		if g.user == username {
			g.revoked = true
		}
	}
}
