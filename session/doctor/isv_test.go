package doctor

import (
	"crypto/rsa"
	"crypto/x509"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const clientID = "client-1"

// testKeys are two RSA keys, made once: key generation is slow.
var testKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := isvkit.GenerateKey(2048)
		if err != nil {
			return ks, err
		}
		ks[i] = k
	}
	return ks, nil
})

// isvBed is a local Auth0-like token service with client-1 registered.
type isvBed struct {
	auth    *traderapitest.AuthServer
	srv     *httptest.Server
	key     *rsa.PrivateKey
	dir     string
	keyFile string
	pubFile string // the public half of key
	other   string // a public key file of another key
}

func setupISV(t *testing.T, scopes ...string) *isvBed {
	t.Helper()
	ks, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	b := &isvBed{auth: traderapitest.NewAuthServer(traderapitest.AuthOptions{}), key: ks[0], dir: t.TempDir()}
	b.srv = httptest.NewServer(b.auth)
	t.Cleanup(b.srv.Close)
	b.auth.RegisterClient(clientID, &b.key.PublicKey, scopes)
	b.keyFile = b.write(t, "private_key.pem", isvkit.MarshalPrivateKeyPEM(b.key), 0o600)
	b.pubFile = b.write(t, "public_key.pem", publicPEM(t, b.key), 0o644)
	b.other = b.write(t, "other_public_key.pem", publicPEM(t, ks[1]), 0o644)
	return b
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	p, err := isvkit.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (b *isvBed) write(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// config checks client-1 in a sandbox standing for preprod.
func (b *isvBed) config(endpoints ...string) Config {
	return Config{
		Env:        traderapi.Environment{Name: "sandbox", BaseURL: "http://127.0.0.1:1", Host: traderapitest.DefaultHost},
		HTTPClient: b.srv.Client(),
		Timeout:    5 * time.Second,
		ISV: &ISVConfig{KeyFile: b.keyFile, PublicKeyFile: b.pubFile, ClientID: clientID, AuthURL: b.srv.URL,
			ParticipantID: "firms/ISV-Participant-Acme/users/bot-1", Endpoints: endpoints},
	}
}

func TestISVHealthy(t *testing.T) {
	t.Parallel()
	b := setupISV(t, "read:accounts", "read:positions")
	cfg := b.config("GET /v1/whoami", "GET /v1/positions")
	want(t, check(t, cfg, (*runner).isvKey), OK, "RSA-2048 private key, public thumbprint", "")
	want(t, check(t, cfg, (*runner).isvPublicKey), OK, "the private key matches", "")
	want(t, check(t, cfg, (*runner).isvAssertion), OK, "passes every rule", "")
	want(t, check(t, cfg, (*runner).isvToken), OK, `issued an access token for aud "https://api.preprod.polymarketexchange.com"`, "")
	want(t, check(t, cfg, (*runner).isvScopes), OK, "granted: GET /v1/whoami (read:accounts), GET /v1/positions (read:positions)", "")
	want(t, check(t, cfg, (*runner).isvParticipant), OK, "x-participant-id firms/ISV-Participant-Acme/users/bot-1 for GET /v1/positions", "")
}

func TestISVKeyFormat(t *testing.T) {
	t.Parallel()
	b := setupISV(t)
	cfg := b.config()
	cfg.ISV.KeyFile = b.write(t, "key.der", x509.MarshalPKCS1PrivateKey(b.key), 0o600)
	c := check(t, cfg, (*runner).isvKey)
	want(t, c, Fail, "the private key is DER (binary), not PEM; convert it with: openssl rsa -inform DER -in key.der -out key.pem", "the message says how to convert")
	want(t, check(t, cfg, (*runner).isvPublicKey), Skipped, "no usable private key", "")
	want(t, check(t, cfg, (*runner).isvToken), Skipped, "no usable private key", "")

	cfg.ISV.KeyFile = b.pubFile
	want(t, check(t, cfg, (*runner).isvKey), Fail, "the file holds a public key or certificate only", "PEM RSA private key")

	cfg.ISV.KeyFile = ""
	want(t, check(t, cfg, (*runner).isvKey), Fail, "no private key file given", "--key PATH")

	cfg.ISV.KeyFile = b.write(t, "shared.pem", isvkit.MarshalPrivateKeyPEM(b.key), 0o644)
	want(t, check(t, cfg, (*runner).isvKey), Warn, "lets other users read it", "chmod 600 "+cfg.ISV.KeyFile)
}

func TestISVKeyMismatch(t *testing.T) {
	t.Parallel()
	b := setupISV(t, "read:accounts")
	cfg := b.config()
	cfg.ISV.PublicKeyFile = b.other
	want(t, check(t, cfg, (*runner).isvPublicKey), Fail, "the token endpoint will answer invalid_client", "re-onboard its public key")

	// The token endpoint, holding the other key, refuses the signature.
	ks, _ := testKeys()
	b.auth.RegisterClient(clientID, &ks[1].PublicKey, nil)
	want(t, check(t, cfg, (*runner).isvToken), Fail, "invalid_client", "the signature did not verify with the key registered for client ID client-1")
	// Linted with the registered key, the signature rule fails too.
	want(t, check(t, cfg, (*runner).isvAssertion), Fail, "signature: the signature does not verify", "sign with the private key whose public half is registered")
}

func TestISVAssertionBadClaims(t *testing.T) {
	t.Parallel()
	b := setupISV(t)
	cfg := b.config()
	now := time.Now()
	bad, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": clientID, "sub": "someone-else", "aud": "https://api.preprod.polymarketexchange.com",
		"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Hour + 10*time.Minute).Unix(), "jti": "1",
	}).SignedString(b.key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ISV.Assertion = traderapi.Secret(bad)
	c := check(t, cfg, (*runner).isvAssertion)
	for _, s := range []string{"the given assertion breaks", `sub is "someone-else"`, "exp ", "is not in the future",
		"exp − iat is 10m0s", `jti "1" is not a UUID`} {
		want(t, c, Fail, s, "")
	}
	for _, f := range []string{"set iss and sub both to the client ID", "at most 300 s after iat", "fresh random UUID"} {
		want(t, c, Fail, "", f)
	}
	if c.Saw != clean(c.Saw) || containsAny(c.Saw+c.Fix, bad, bad[:20]) {
		t.Errorf("the report quotes the assertion: %s", c)
	}

	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": clientID}).SignedString([]byte("k"))
	cfg.ISV.Assertion = traderapi.Secret(hs)
	want(t, check(t, cfg, (*runner).isvAssertion), Fail, `alg is "HS256"`, "sign with RS256")
}

func TestISVAuthURLMistakes(t *testing.T) {
	t.Parallel()
	b := setupISV(t)
	cfg := b.config()
	cfg.ISV.AuthURL = "https://api.preprod.polymarketexchange.com"
	want(t, check(t, cfg, (*runner).isvAssertion), Fail, "is the API's: the assertion's aud would be https://api.preprod.polymarketexchange.com/oauth/token",
		"set --auth-url to https://pmx-preprod.us.auth0.com")
	cfg.ISV.AuthURL = "https://pmx-prod.us.auth0.com"
	want(t, check(t, cfg, (*runner).isvAssertion), Fail, "is prod's, but the selected environment is preprod", "https://pmx-preprod.us.auth0.com")
	cfg.ISV.ClientID = ""
	want(t, check(t, cfg, (*runner).isvAssertion), Fail, "no client ID given", "--client-id")
}

func TestISVTokenClockSkew(t *testing.T) {
	t.Parallel()
	b := setupISV(t, "read:accounts")
	cfg := b.config()
	cfg.Now = clockAt(-10 * time.Minute) // the assertion expires before the server's now
	want(t, check(t, cfg, (*runner).isvToken), Fail, "invalid_client_assertion", "a synchronised clock")
}

func TestISVScopes(t *testing.T) {
	t.Parallel()
	b := setupISV(t, "read:accounts")
	cfg := b.config("GET /v1/whoami", "GET /v1/positions", "POST /v1/trading/orders")
	c := check(t, cfg, (*runner).isvScopes)
	want(t, c, Fail, "missing: GET /v1/positions needs read:positions, POST /v1/trading/orders needs write:orders",
		"ask Polymarket support to grant read:positions write:orders to client ID client-1")
	want(t, c, Fail, "granted: GET /v1/whoami (read:accounts)", "")

	cfg.ISV.Endpoints = []string{"GET /v1/whoami", "GET /v1/health", "GET /v1/nothing-here"}
	want(t, check(t, cfg, (*runner).isvScopes), Warn, "not in the ISV authentication guide's scope table: GET /v1/nothing-here", "API reference")

	cfg.ISV.Endpoints = []string{"/v1/positions"}
	want(t, check(t, cfg, (*runner).isvScopes), Fail, `endpoint "/v1/positions" is not "METHOD /path"`, `--endpoint "GET /v1/positions"`)

	cfg.ISV.Endpoints = nil
	want(t, check(t, cfg, (*runner).isvScopes), Skipped, "no endpoints named", "--endpoint")
}

func TestISVParticipant(t *testing.T) {
	t.Parallel()
	b := setupISV(t)
	cfg := b.config("GET /v1/orderbook/X/bbo", "POST /v1/trading/orders")
	cfg.ISV.ParticipantID = ""
	want(t, check(t, cfg, (*runner).isvParticipant), Fail, "POST /v1/trading/orders act for an account and need the x-participant-id header",
		"give --participant-id firms/<Firm>/users/<user>")
	cfg.ISV.ParticipantID = "firms/Acme/bot-1"
	want(t, check(t, cfg, (*runner).isvParticipant), Fail, `"firms/Acme/bot-1" is not firms/<Firm>/users/<user>`, "--participant-id")
	cfg.ISV.ParticipantID = ""
	cfg.ISV.Endpoints = []string{"GET /v1/orderbook/X/bbo"}
	want(t, check(t, cfg, (*runner).isvParticipant), Skipped, "no account-scoped endpoint named", "")
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if x != "" && strings.Contains(s, x) {
			return true
		}
	}
	return false
}
