package traderapitest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultISVAudience is the API audience an [AuthServer] issues tokens for
// when [AuthOptions.Audience] is empty: preprod's.
const DefaultISVAudience = "https://api.preprod.polymarketexchange.com"

// AuthOptions configure an [AuthServer]. The zero value is usable.
type AuthOptions struct {
	// Now is the server's clock; default time.Now.
	Now func() time.Time
	// TokenTTL is the access token lifetime, sent as expires_in; default
	// 180 s, as the exchange's tenant gives.
	TokenTTL time.Duration
	// Issuer is the server's own URL, e.g. "https://pmx-preprod.us.auth0.com".
	// A client assertion's aud must be Issuer + "/oauth/token". Empty means
	// the URL each request was sent to (its scheme and Host).
	Issuer string
	// Audience is the API audience: the token request's "audience" must be
	// it, and it is the access tokens' aud. Default [DefaultISVAudience].
	Audience string
	// Leeway is how far in the future an assertion's iat may be (clock
	// skew); default 10 s.
	Leeway time.Duration
}

// AuthServer is a local Auth0-like token service for ISV partners: an
// [http.Handler] serving POST /oauth/token for the client_credentials grant
// with private_key_jwt client authentication (the ISV authentication and troubleshooting
// guides), and GET
// /.well-known/jwks.json. It verifies each client assertion with the public
// key registered for its client ID and refuses, with the OAuth error the authentication troubleshooting guide
// names, every mistake: a signature that does not verify (invalid_client);
// an algorithm other than RS256, a missing claim, iss or sub not the client
// ID, aud not its token endpoint, an expired assertion, exp more than 5
// minutes after iat, iat in the future, a reused jti (invalid_client_assertion).
// It issues RS256 access tokens (its own key) with iss, sub
// "<client>@clients", aud, azp, scope, iat, exp and jti. It is safe for
// concurrent use. Create it with [NewAuthServer].
type AuthServer struct {
	opts AuthOptions
	key  *rsa.PrivateKey
	kid  string

	mu      sync.Mutex
	clients map[string]*isvClient
	jtis    map[string]time.Time // jti → when it may be forgotten (its exp + leeway)
	revoked map[string]bool      // access tokens revoked by [AuthServer.Revoke]
	failN   int
	failSt  int
	delay   time.Duration

	requests, issued, rejected atomic.Int64
}

type isvClient struct {
	pub    *rsa.PublicKey
	scopes []string
}

// NewAuthServer returns an AuthServer with a fresh RSA signing key and no
// clients.
func NewAuthServer(opts AuthOptions) *AuthServer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 180 * time.Second
	}
	if opts.Audience == "" {
		opts.Audience = DefaultISVAudience
	}
	if opts.Leeway <= 0 {
		opts.Leeway = 10 * time.Second
	}
	opts.Issuer = strings.TrimRight(opts.Issuer, "/")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil { // crypto/rand does not fail; a fixed, valid size
		panic("traderapitest: generate the auth server's key: " + err.Error())
	}
	return &AuthServer{
		opts: opts, key: key, kid: "pmx-local-" + strconv.FormatInt(opts.Now().Unix(), 36),
		clients: map[string]*isvClient{}, jtis: map[string]time.Time{}, revoked: map[string]bool{},
	}
}

// RegisterClient registers (or replaces) a client: its public key, as at
// onboarding, and the scopes its tokens carry.
func (a *AuthServer) RegisterClient(clientID string, pub *rsa.PublicKey, scopes []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clients[clientID] = &isvClient{pub: pub, scopes: append([]string(nil), scopes...)}
}

// PublicKey returns the key the access tokens are signed with.
func (a *AuthServer) PublicKey() *rsa.PublicKey { return &a.key.PublicKey }

// Audience returns the API audience of the access tokens.
func (a *AuthServer) Audience() string { return a.opts.Audience }

// TokenTTL returns the access token lifetime.
func (a *AuthServer) TokenTTL() time.Duration { return a.opts.TokenTTL }

// Requests returns how many token requests the server has received.
func (a *AuthServer) Requests() int64 { return a.requests.Load() }

// Issued returns how many access tokens the server has issued.
func (a *AuthServer) Issued() int64 { return a.issued.Load() }

// Rejected returns how many token requests the server has refused.
func (a *AuthServer) Rejected() int64 { return a.rejected.Load() }

// Revoke makes the [APIServer] answer 401 to an access token, as when a
// token is revoked before it expires.
func (a *AuthServer) Revoke(accessToken string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[accessToken] = true
}

func (a *AuthServer) isRevoked(accessToken string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revoked[accessToken]
}

// FailNext makes the next n token requests fail with the given status (a
// 5xx gives {"error":"temporarily_unavailable"}) before any check.
func (a *AuthServer) FailNext(n, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failN, a.failSt = n, status
}

// SetDelay makes every token request wait d (or until the client gives up)
// before it is answered.
func (a *AuthServer) SetDelay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = d
}

// ServeHTTP implements [http.Handler].
func (a *AuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/oauth/token" && r.Method == http.MethodPost:
		a.serveToken(w, r)
	case r.URL.Path == "/.well-known/jwks.json" && r.Method == http.MethodGet:
		isvWriteJSON(w, http.StatusOK, map[string]any{"keys": []any{a.jwk()}})
	case r.URL.Path == "/oauth/token":
		w.Header().Set("Allow", http.MethodPost)
		isvOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
	default:
		isvOAuthError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	}
}

// takeFault returns the armed failure status and the delay, if any.
func (a *AuthServer) takeFault() (status int, delay time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failN > 0 {
		a.failN--
		status = a.failSt
	}
	return status, a.delay
}

func (a *AuthServer) serveToken(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	status, delay := a.takeFault()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if status != 0 {
		a.rejected.Add(1)
		code := "invalid_request"
		if status >= 500 {
			code = "temporarily_unavailable"
		}
		isvOAuthError(w, status, code, "injected failure")
		return
	}
	params, msg := isvParams(r)
	if msg != "" {
		a.reject(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	res := a.check(r, params)
	if res.code != "" {
		a.reject(w, res.status, res.code, res.desc)
		return
	}
	tok, err := a.issue(res.clientID, res.scopes)
	if err != nil {
		a.reject(w, http.StatusInternalServerError, "server_error", "signing the access token failed")
		return
	}
	a.issued.Add(1)
	body := map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int64(a.opts.TokenTTL / time.Second),
	}
	if len(res.scopes) > 0 {
		body["scope"] = strings.Join(res.scopes, " ")
	}
	w.Header().Set("Cache-Control", "no-store")
	isvWriteJSON(w, http.StatusOK, body)
}

func (a *AuthServer) reject(w http.ResponseWriter, status int, code, desc string) {
	a.rejected.Add(1)
	isvOAuthError(w, status, code, desc)
}

// issue signs an access token for a client.
func (a *AuthServer) issue(clientID string, scopes []string) (string, error) {
	now := a.opts.Now()
	claims := jwt.MapClaims{
		"iss":   a.opts.Issuer + "/",
		"sub":   clientID + "@clients",
		"aud":   a.opts.Audience,
		"azp":   clientID,
		"scope": strings.Join(scopes, " "),
		"gty":   "client-credentials",
		"iat":   now.Unix(),
		"exp":   now.Add(a.opts.TokenTTL).Unix(),
		"jti":   rand.Text(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = a.kid
	return t.SignedString(a.key)
}

// isvParams reads a token request, JSON (as Auth0 and the ISV authentication guide) or
// form-encoded (standard OAuth).
func isvParams(r *http.Request) (map[string]string, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, "the request body could not be read"
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return nil, "the body is not a JSON object"
		}
		out := map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
		return out, ""
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "the form body does not parse"
		}
		out := map[string]string{}
		for k := range v {
			out[k] = v.Get(k)
		}
		return out, ""
	}
	return nil, "Content-Type must be application/json or application/x-www-form-urlencoded"
}

func isvWriteJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func isvOAuthError(w http.ResponseWriter, status int, code, desc string) {
	isvWriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
