package isv

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// defaultMargin is how long before expiry a token is refreshed, as in the ISV
// authentication guide's example (a 30-second buffer). It is capped at half the token's
// lifetime, so a short-lived token is not refreshed on every call.
const defaultMargin = 30 * time.Second

// defaultRefreshTimeout bounds one token request, whoever waits for it.
const defaultRefreshTimeout = 30 * time.Second

// Config configures a [Source]. It prints redacted: the key is shown by its
// size and thumbprint only.
type Config struct {
	// Environment is "dev01", "preprod" or "prod"; it sets the defaults of
	// AuthURL and Audience. It may be empty when AuthURL and Audience are set.
	Environment string
	// ClientID is the client ID from onboarding (clientid.txt): the
	// assertion's iss and sub.
	ClientID string
	// Key is the partner's RSA private key for this environment (see
	// [LoadPrivateKeyFile]).
	Key *rsa.PrivateKey
	// AuthURL is the auth server's scheme and host, default
	// "https://{authDomain}". The token endpoint is AuthURL + "/oauth/token".
	AuthURL string
	// TokenURL overrides the token endpoint (and so the assertion's aud),
	// for OAuth servers whose endpoint is not at /oauth/token.
	TokenURL string
	// Audience is the API audience sent with the token request, default
	// "https://{apiDomain}".
	Audience string
	// APIURL is the API's base URL, default Audience.
	APIURL string
	// Scopes, when set, are sent as the space-separated "scope" parameter.
	// Auth0 grants the client's scopes without it.
	Scopes []string
	// FormEncoded sends the token request as
	// application/x-www-form-urlencoded, as standard OAuth servers require,
	// instead of JSON as Auth0 and the ISV authentication guide do.
	FormEncoded bool
	// HTTPClient sends the token requests; default a client with a 30 s
	// timeout. They go through a copy of it that follows no redirect (see
	// [traderapi.NoRedirects]).
	HTTPClient *http.Client
	// Now is the wall clock for the assertion's iat and exp and for
	// [Source.Expiry]; default time.Now. Refresh timing never reads it.
	Now func() time.Time
	// Margin is how long before expiry a token is refreshed: default 30 s
	// (the ISV authentication guide's example); at most half the token's
	// lifetime is used.
	Margin time.Duration
	// AssertionLifetime is exp − iat of the assertions: default 2 minutes,
	// at most the 5 minutes the token endpoint accepts (the ISV
	// authentication guide).
	AssertionLifetime time.Duration
	// RefreshTimeout bounds one token request, whoever waits for it;
	// default 30 s.
	RefreshTimeout time.Duration
	// Logger receives refresh events (never a token or key); default none.
	Logger *slog.Logger
	// Events, when set, receives the Source's typed events, the same as a
	// trader session's (see [session.Observer] and [session.Event]):
	// token requests started, succeeded and failed, tokens taken up from
	// the shared store, its outages, lock waits and the 401s that
	// [Source.Transport] retried. Origin is [session.OriginISV] and
	// Username the client ID. Never called from the token hot path, nor
	// while a lock is held; a slow observer never holds up the Source.
	Events session.Observer
	// EventBuffer is how many events may wait for a slow Events observer
	// before new ones are dropped and counted (default 1024).
	EventBuffer int
	// Store, when set, shares the access token among the processes of one
	// partner (a redis.Store for many machines, a file.Store for one
	// machine): one token request per lifetime for all of them. See
	// [Store].
	Store Store
}

// settings is a validated Config with its defaults applied.
type settings struct {
	env, clientID                    string
	key                              *rsa.PrivateKey
	tokenURL, audience, apiURL       string
	scope                            string
	form                             bool
	hc                               *http.Client
	now                              func() time.Time
	margin, assertionTTL, refreshTTL time.Duration
	log                              *slog.Logger
	store                            Store
	storeKey                         keystore.Key
	events                           session.Observer
	eventBuffer                      int
}

func (c Config) resolve() (settings, error) {
	s := settings{
		env: c.Environment, clientID: c.ClientID, key: c.Key, tokenURL: c.TokenURL,
		audience: c.Audience, apiURL: c.APIURL, scope: strings.Join(c.Scopes, " "), form: c.FormEncoded,
		hc: c.HTTPClient, now: c.Now, margin: c.Margin, assertionTTL: c.AssertionLifetime,
		refreshTTL: c.RefreshTimeout, log: c.Logger, store: c.Store, events: c.Events, eventBuffer: c.EventBuffer,
	}
	if c.ClientID == "" || strings.ContainsAny(c.ClientID, " \t\r\n") {
		return s, errors.New("isv: Config.ClientID is empty or has spaces: set it to the client ID from onboarding (clientid.txt)")
	}
	if c.Key == nil {
		return s, errors.New("isv: Config.Key is nil: load the private key with LoadPrivateKeyFile")
	}
	if _, err := checkRSA(c.Key); err != nil {
		return s, err
	}
	authURL := c.AuthURL
	if c.Environment != "" {
		env, err := isvkit.LookupEnvironment(c.Environment)
		if err != nil {
			return s, err
		}
		authURL = cmpOr(authURL, "https://"+env.AuthDomain)
		s.audience = cmpOr(s.audience, env.Audience())
	}
	if authURL == "" && s.tokenURL == "" {
		return s, errors.New("isv: Config needs an Environment (dev01, preprod, prod) or an AuthURL")
	}
	if s.tokenURL == "" {
		s.tokenURL = strings.TrimRight(authURL, "/") + isvkit.TokenPath
	}
	if err := checkURL("TokenURL", s.tokenURL); err != nil {
		return s, err
	}
	if s.audience == "" {
		return s, errors.New("isv: Config.Audience is empty: set it to the API audience, e.g. https://api.preprod.polymarketexchange.com")
	}
	s.apiURL = strings.TrimRight(cmpOr(s.apiURL, s.audience), "/")
	if u, err := url.Parse(s.apiURL); err == nil && u.Scheme == "http" {
		if err := traderapi.RequireHTTPS(u); err != nil { // the API gets the access token
			return s, fmt.Errorf("isv: Config.APIURL %q: %w", s.apiURL, err)
		}
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: defaultRefreshTimeout}
	}
	// A token request carries a client assertion: it never follows a
	// redirect (a copy of the caller's client, which is not changed).
	s.hc = traderapi.NoRedirects(s.hc)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case s.margin < 0 || s.assertionTTL < 0 || s.refreshTTL < 0:
		return s, errors.New("isv: Config.Margin, AssertionLifetime and RefreshTimeout must not be negative")
	case s.assertionTTL > isvkit.MaxAssertionLifetime:
		return s, fmt.Errorf("isv: Config.AssertionLifetime %s is over the %s the token endpoint accepts", s.assertionTTL, isvkit.MaxAssertionLifetime)
	}
	s.margin = cmpOr(s.margin, defaultMargin)
	s.assertionTTL = cmpOr(s.assertionTTL, isvkit.DefaultAssertionLifetime).Truncate(time.Second)
	s.refreshTTL = cmpOr(s.refreshTTL, defaultRefreshTimeout)
	s.storeKey = storeKey(s.tokenURL, s.clientID, s.audience, s.scope)
	return s, nil
}

// checkURL accepts an https URL, or an http one on a loopback host (a local
// test server): a client assertion is a credential and never goes in clear
// over a network. The rule is [traderapi.RequireHTTPS].
func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("isv: Config.%s %q is not an http(s) URL with a host (example: https://pmx-preprod.us.auth0.com/oauth/token)", name, raw)
	}
	if err := traderapi.RequireHTTPS(u); err != nil {
		return fmt.Errorf("isv: Config.%s %q: %w", name, raw, err)
	}
	return nil
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// describe describes the configuration without the key.
func (c Config) describe() string {
	return fmt.Sprintf("isv.Config{Environment: %q, ClientID: %q, Key: %s, AuthURL: %q, TokenURL: %q, Audience: %q, FormEncoded: %t, Store: %s}",
		c.Environment, c.ClientID, describeKey(c.Key), c.AuthURL, c.TokenURL, c.Audience, c.FormEncoded, describeStore(c.Store))
}

// Format implements [fmt.Formatter] so that no verb prints the key.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.describe())) }

// LogValue implements [slog.LogValuer]: the key by size and thumbprint only.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("environment", c.Environment),
		slog.String("client_id", c.ClientID),
		slog.String("key", describeKey(c.Key)),
		slog.String("auth_url", c.AuthURL),
		slog.String("audience", c.Audience),
	)
}

// describeKey names a key by size and public thumbprint.
func describeKey(k *rsa.PrivateKey) string {
	if k == nil || k.N == nil {
		return "<nil>"
	}
	return fmt.Sprintf("RSA-%d[%s]", k.N.BitLen(), isvkit.Thumbprint(&k.PublicKey))
}
