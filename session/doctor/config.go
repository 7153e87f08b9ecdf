package doctor

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// DefaultTimeout bounds each network step of a check (a DNS lookup, a
// connect, a handshake, a request).
const DefaultTimeout = 10 * time.Second

// Thresholds of the checks.
const (
	// SkewWarn is the clock skew past which the clock check warns.
	SkewWarn = 30 * time.Second
	// SkewFail is the clock skew past which it fails: the 300 s window of a
	// client assertion (exp ≤ iat + 300 s), past which tokens also look
	// expired or not yet valid.
	SkewFail = 300 * time.Second
	// ExpiringSoon is how close to expiry an access token is reported as
	// expiring.
	ExpiringSoon = 60 * time.Second
	// RefreshExpiringSoon is how close to expiry a refresh token (the
	// session) is reported as expiring.
	RefreshExpiringSoon = 24 * time.Hour
)

// Store is what the doctor reads of a keystore: it never writes. Every
// [keystore.Store] is one.
type Store interface {
	Get(ctx context.Context, k keystore.Key) (*keystore.Record, error)
	LastUser(ctx context.Context, env string) (string, error)
}

// Config says what to diagnose. Env is required; every other field is
// optional, and a check whose input is missing is skipped.
type Config struct {
	// Env is the selected environment, with any base URL and Host
	// overrides applied.
	Env traderapi.Environment
	// HTTPClient makes the requests (its transport's TLS settings are used
	// for the handshake check); default a client with a 30 s timeout.
	HTTPClient *http.Client
	// Resolver looks up host names; default [net.DefaultResolver].
	Resolver *net.Resolver
	// Now is the local clock; default [time.Now].
	Now func() time.Time
	// Timeout bounds each network step; default [DefaultTimeout].
	Timeout time.Duration
	// Store holds the stored session; nil skips the session checks.
	Store Store
	// Username is the user whose session is checked; default the
	// environment's last user.
	Username string
	// Refresh tries one refresh of the stored session, e.g. a
	// [traderapi.Client.RefreshAccessToken] with the stored refresh token;
	// nil skips the trial refresh. It should store nothing.
	Refresh func(ctx context.Context) error
	// ISV holds partner credentials to check; nil reports the ISV checks as
	// one skipped check.
	ISV *ISVConfig
}

// ISVConfig are an ISV partner's Private Key JWT credentials (the ISV authentication guide).
type ISVConfig struct {
	// KeyFile is the PEM private key file.
	KeyFile string
	// PublicKeyFile is the public key registered at onboarding, to compare
	// with the private key; empty skips that check.
	PublicKeyFile string
	// ClientID is the client ID from onboarding (clientid.txt).
	ClientID string
	// ParticipantID is the x-participant-id the bot sends
	// (firms/<Firm>/users/<user>).
	ParticipantID string
	// AuthURL is the auth server's scheme and host; default the
	// environment's Auth0 domain (dev01, preprod, prod).
	AuthURL string
	// Audience is the API audience; default the environment's.
	Audience string
	// Endpoints are the endpoints the bot calls, "METHOD /path" (e.g.
	// "GET /v1/positions", "POST /v1/trading/orders"), whose scopes and
	// participant needs are checked.
	Endpoints []string
	// Assertion, when set, is a client assertion made by the partner's own
	// code, linted with the same rules as the one this package signs. It is
	// never shown.
	Assertion traderapi.Secret
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}
