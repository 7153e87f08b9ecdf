package cli

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const testClientID = "acme-bot-client"

// isvFixture is a local token service with one registered client, and the
// key file of that client.
type isvFixture struct {
	*fixture
	auth    *traderapitest.AuthServer
	url     string // the token service's scheme and host
	key     *rsa.PrivateKey
	keyFile string

	mu         sync.Mutex
	assertions []string // every client_assertion the token service received
}

// isvSetup starts an AuthServer (with opts) behind a handler that records
// the assertions, registers testClientID with a fresh key written to a 0600
// file, and points PMX_AUTH_URL at the server.
func isvSetup(t *testing.T, opts traderapitest.AuthOptions) *isvFixture {
	t.Helper()
	f := &isvFixture{auth: traderapitest.NewAuthServer(opts)}
	srv := httptest.NewServer(http.HandlerFunc(f.record))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.key = newTestKey(t)
	f.auth.RegisterClient(testClientID, &f.key.PublicKey, []string{"read:accounts", "write:orders"})
	f.keyFile = writeFile(t, "acme_preprod_private_key.pem", string(isvkit.MarshalPrivateKeyPEM(f.key)))
	f.fixture = &fixture{dir: t.TempDir(), vars: map[string]string{envAuthURL: srv.URL}}
	return f
}

// record keeps the request's client_assertion and passes it on.
func (f *isvFixture) record(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]string
	if json.Unmarshal(body, &m) == nil && m["client_assertion"] != "" {
		f.mu.Lock()
		f.assertions = append(f.assertions, m["client_assertion"])
		f.mu.Unlock()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.auth.ServeHTTP(w, r)
}

func (f *isvFixture) sentAssertions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.assertions...)
}

func newTestKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := isvkit.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// noSecrets fails if out holds the private key (its PEM body or a line of
// it), any assertion the token service received, or tok (when given).
func (f *isvFixture) noSecrets(t *testing.T, out string, tok string) {
	t.Helper()
	pemText := string(isvkit.MarshalPrivateKeyPEM(f.key))
	for _, line := range strings.Split(pemText, "\n")[1:4] {
		if strings.Contains(out, line) {
			t.Errorf("the output holds a line of the private key")
		}
	}
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("the output holds a PEM private key block")
	}
	d := base64.RawURLEncoding.EncodeToString(f.key.D.Bytes())
	if strings.Contains(out, d[:24]) {
		t.Errorf("the output holds the private exponent")
	}
	for _, a := range f.sentAssertions() {
		if strings.Contains(out, a) || strings.Contains(out, a[strings.LastIndexByte(a, '.')+1:]) {
			t.Errorf("the output holds a client assertion")
		}
	}
	if tok != "" && strings.Contains(out, tok) {
		t.Errorf("the output holds the access token")
	}
}

// The token is stdout, exactly; the token service accepts it as issued to
// the client; nothing goes to stderr.
func TestISVTokenPrintsOnlyTheToken(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	r := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile)
	wantCode(t, r, 0)
	tok := strings.TrimSuffix(r.out, "\n")
	if r.out != tok+"\n" || strings.ContainsAny(tok, " \n\t") || tok == "" {
		t.Fatalf("stdout is not one token and a newline: %q", r.out)
	}
	claims, err := f.auth.VerifyAccessToken(tok)
	if err != nil {
		t.Fatalf("the token service does not accept the printed token: %v", err)
	}
	if claims["azp"] != testClientID || claims["scope"] != "read:accounts write:orders" {
		t.Errorf("token claims azp %v scope %v", claims["azp"], claims["scope"])
	}
	if r.err != "" {
		t.Errorf("stderr: %q", r.err)
	}
	if n := len(f.sentAssertions()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	f.noSecrets(t, r.err, tok)

	j := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile, "--json")
	wantCode(t, j, 0)
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(j.out), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, j.out)
	}
	if _, err := f.auth.VerifyAccessToken(out.AccessToken); err != nil || out.TokenType != "Bearer" ||
		out.ExpiresIn < 170 || out.ExpiresIn > 180 || out.Scope != "read:accounts write:orders" {
		t.Errorf("--json: %+v (%v)", out, err)
	}
}

// Every flag takes its environment variable; a flag given wins over it.
func TestISVTokenFlagsFromEnvironment(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	f.vars[envClientID] = testClientID
	f.vars[envKeyFile] = f.keyFile
	f.vars[envParticipantID] = "firms/Acme/users/alice"
	f.vars[envAudience] = traderapitest.DefaultISVAudience
	f.vars[envAPIURL] = "http://127.0.0.1:1/api"
	r := f.run(t, "", "isv", "token")
	wantCode(t, r, 0)
	if _, err := f.auth.VerifyAccessToken(strings.TrimSpace(r.out)); err != nil {
		t.Fatalf("token from environment variables: %v", err)
	}
	s := f.run(t, "", "isv", "status")
	wantCode(t, s, 0)
	for _, want := range []string{"participant id: firms/Acme/users/alice", "api url:        http://127.0.0.1:1/api",
		"token endpoint: " + f.url + "/oauth/token", "client id:      " + testClientID} {
		if !strings.Contains(s.out, want) {
			t.Errorf("status lacks %q:\n%s", want, s.out)
		}
	}

	f.vars[envClientID] = "someone-else"
	wantCode(t, f.run(t, "", "isv", "token"), 4, "invalid_client")
	wantCode(t, f.run(t, "", "isv", "token", "--client-id", testClientID), 0)
	f.vars[envAuthURL] = "http://127.0.0.1:1"
	wantCode(t, f.run(t, "", "isv", "token", "--client-id", testClientID, "--auth-url", f.url), 0)
}

// A key the token service does not know for the client: exit 4 and the
// onboarding hint; bad claims: 4 naming the rule.
func TestISVTokenRejected(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	other := writeFile(t, "other_private_key.pem", string(isvkit.MarshalPrivateKeyPEM(newTestKey(t))))
	r := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", other)
	wantCode(t, r, 4, "invalid_client", "the private key does not match the public key registered at onboarding")
	if r.out != "" {
		t.Errorf("stdout: %q", r.out)
	}
	d := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", other, "--debug")
	if d.code != 4 || d.out != "" || !strings.Contains(d.err, "401 Unauthorized") {
		t.Errorf("--debug of a refused key: %v", d)
	}
	f.noSecrets(t, r.err+d.err, "")

	// The token service names itself by another URL: the assertion's aud
	// (--auth-url + /oauth/token) is not its token endpoint.
	g := isvSetup(t, traderapitest.AuthOptions{Issuer: "https://pmx-preprod.us.auth0.com"})
	r = g.run(t, "", "isv", "token", "--client-id", testClientID, "--key", g.keyFile)
	wantCode(t, r, 4, "invalid_client_assertion", "aud must be the token endpoint https://pmx-preprod.us.auth0.com/oauth/token", "--auth-url")

	// A clock an hour ahead: iat in the future.
	h := isvSetup(t, traderapitest.AuthOptions{})
	h.now = func() time.Time { return time.Now().Add(time.Hour) }
	r = h.run(t, "", "isv", "token", "--client-id", testClientID, "--key", h.keyFile)
	wantCode(t, r, 4, "invalid_client_assertion", "iat is in the future", "check the clock")

	// An audience the client is not enabled for.
	r = f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile, "--audience", "https://api.prod.polymarketexchange.com")
	wantCode(t, r, 4, "access_denied", "--audience")
}

// No token service: exit 5 with the --auth-url hint; a failing one: 5 too.
func TestISVTokenUnreachable(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	r := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile, "--auth-url", closed.URL)
	wantCode(t, r, 5, "unreachable", "check --auth-url")

	f.auth.FailNext(1, http.StatusServiceUnavailable)
	r = f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile)
	wantCode(t, r, 5, "temporarily_unavailable", "check --auth-url")

	f.auth.SetDelay(time.Minute)
	r = f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile, "--timeout", "200ms")
	wantCode(t, r, 5, "longer --timeout")
}

// --debug traces each request and answer on stderr, without the key, the
// assertion or the token; stdout is still the token alone.
func TestISVDebugHasNoSecrets(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	r := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile, "--debug")
	wantCode(t, r, 0)
	tok := strings.TrimSpace(r.out)
	if _, err := f.auth.VerifyAccessToken(tok); err != nil {
		t.Fatalf("stdout is not the token: %q", r.out)
	}
	for _, want := range []string{"POST " + f.url + "/oauth/token", "200 OK", "new access token", "client_id=" + testClientID} {
		if !strings.Contains(r.err, want) {
			t.Errorf("the debug trace lacks %q:\n%s", want, r.err)
		}
	}
	if len(f.sentAssertions()) != 1 {
		t.Fatalf("assertions recorded: %d", len(f.sentAssertions()))
	}
	f.noSecrets(t, r.err, tok)

	s := f.run(t, "", "isv", "status", "--client-id", testClientID, "--key", f.keyFile, "--debug")
	wantCode(t, s, 0)
	f.noSecrets(t, s.out+s.err, "")
	if strings.Contains(s.out, "eyJ") || strings.Contains(s.err, "eyJ") {
		t.Errorf("status printed a JWT:\n%s\n%s", s.out, s.err)
	}
}

// Bad command lines and key files: exit 2 with one line saying what to do.
func TestISVUsageErrors(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	der := writeFile(t, "key.der", string(derOf(t, f.key)))
	notPEM := writeFile(t, "key.txt", "not a key\n")
	public := writeFile(t, "acme_public_key.pem", string(mustPublicPEM(t, f.key)))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no client id", []string{"--key", f.keyFile}, []string{"--client-id", envClientID}},
		{"no key", []string{"--client-id", testClientID}, []string{"--key FILE", envKeyFile}},
		{"missing key file", []string{"--client-id", testClientID, "--key", "/nonexistent/k.pem"}, []string{"no such file"}},
		{"not PEM", []string{"--client-id", testClientID, "--key", notPEM}, []string{"expected BEGIN RSA PRIVATE KEY", "openssl genrsa"}},
		// Both of isv's DER messages (it trims whitespace bytes off the end of
		// DER too, so some keys "do not parse") name DER and an openssl command.
		{"DER key", []string{"--client-id", testClientID, "--key", der}, []string{"DER", "openssl"}},
		{"public key", []string{"--client-id", testClientID, "--key", public}, []string{"public key", "private key"}},
		{"participant", []string{"--client-id", testClientID, "--key", f.keyFile, "--participant-id", "alice"}, []string{"firms/<Firm>/users/<user>"}},
		{"auth url with path", []string{"--client-id", testClientID, "--key", f.keyFile, "--auth-url", f.url + "/oauth/token"}, []string{"without /oauth/token"}},
		{"auth url not a URL", []string{"--client-id", testClientID, "--key", f.keyFile, "--auth-url", "pmx-preprod.us.auth0.com"}, []string{"scheme and host"}},
		{"plain http", []string{"--client-id", testClientID, "--key", f.keyFile, "--auth-url", "http://auth.example.com"}, []string{"https"}},
		{"unknown env", []string{"--client-id", testClientID, "--key", f.keyFile, "--env", "staging"}, []string{"--env", "--audience"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, cmd := range []string{"token", "status"} {
				r := f.run(t, "", append([]string{"isv", cmd}, tt.args...)...)
				wantCode(t, r, 2, tt.want...)
				if r.out != "" {
					t.Errorf("isv %s printed %q", cmd, r.out)
				}
			}
		})
	}
	if n := len(f.sentAssertions()); n != 0 {
		t.Errorf("%d token requests for bad command lines", n)
	}
	// An unknown environment is fine with its own token service and audience.
	wantCode(t, f.run(t, "", "isv", "token", "--env", "staging", "--client-id", testClientID, "--key", f.keyFile,
		"--audience", traderapitest.DefaultISVAudience), 0)
}

func derOf(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	p := isvkit.MarshalPrivateKeyPEM(k)
	lines := strings.Split(strings.TrimSpace(string(p)), "\n")
	der, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustPublicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	p, err := isvkit.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestISVKeyReadableByOthersWarns(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	if err := os.Chmod(f.keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile)
	wantCode(t, r, 0, "readable by others (mode 0644)", "chmod 600")
	if strings.Count(r.out, "\n") != 1 {
		t.Errorf("stdout is more than the token: %q", r.out)
	}
}

// status shows the setup and the token's claims, never the token.
func TestISVStatus(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	r := f.run(t, "", "isv", "status", "--client-id", testClientID, "--key", f.keyFile)
	wantCode(t, r, 0)
	for _, want := range []string{
		"environment:    preprod\n",
		"client id:      " + testClientID + "\n",
		"key:            " + f.keyFile + " (RSA-2048, thumbprint " + isvkit.Thumbprint(&f.key.PublicKey) + ")\n",
		"token endpoint: " + f.url + "/oauth/token\n",
		"audience:       https://api.preprod.polymarketexchange.com\n",
		"api url:        https://api.preprod.polymarketexchange.com\n",
		"(in 3m)\n",
		"to " + testClientID + "@clients\n",
		"scopes:\n  read:accounts\n  write:orders\n",
		"participant id: not set",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "eyJ") {
		t.Errorf("status printed a JWT:\n%s", r.out)
	}

	j := f.run(t, "", "isv", "status", "--client-id", testClientID, "--key", f.keyFile, "--json",
		"--participant-id", "firms/Acme/users/alice")
	wantCode(t, j, 0)
	var out struct {
		Environment      string   `json:"environment"`
		ClientID         string   `json:"client_id"`
		KeyBits          int      `json:"key_bits"`
		KeyThumbprint    string   `json:"key_thumbprint"`
		TokenEndpoint    string   `json:"token_endpoint"`
		Audience         string   `json:"audience"`
		ExpiresAt        string   `json:"expires_at"`
		ExpiresIn        int      `json:"expires_in"`
		Scopes           []string `json:"scopes"`
		ParticipantID    *string  `json:"participant_id"`
		ParticipantIDSet bool     `json:"participant_id_set"`
		TokenSubject     string   `json:"token_subject"`
	}
	if err := json.Unmarshal([]byte(j.out), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, j.out)
	}
	exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
	if err != nil || time.Until(exp) < 170*time.Second || time.Until(exp) > 181*time.Second {
		t.Errorf("expires_at %q (%v)", out.ExpiresAt, err)
	}
	if out.Environment != "preprod" || out.ClientID != testClientID || out.KeyBits != 2048 ||
		out.KeyThumbprint != isvkit.Thumbprint(&f.key.PublicKey) || out.TokenEndpoint != f.url+"/oauth/token" ||
		out.Audience != traderapitest.DefaultISVAudience || out.ExpiresIn < 170 || out.ExpiresIn > 180 ||
		strings.Join(out.Scopes, " ") != "read:accounts write:orders" || out.ParticipantID == nil ||
		*out.ParticipantID != "firms/Acme/users/alice" || !out.ParticipantIDSet || out.TokenSubject != testClientID+"@clients" {
		t.Errorf("--json: %+v", out)
	}
	if strings.Contains(j.out, "eyJ") {
		t.Errorf("status --json printed a JWT:\n%s", j.out)
	}

	// A refused key: the setup is on stdout, the error on stderr, exit 4.
	other := writeFile(t, "other_private_key.pem", string(isvkit.MarshalPrivateKeyPEM(newTestKey(t))))
	bad := f.run(t, "", "isv", "status", "--client-id", testClientID, "--key", other)
	wantCode(t, bad, 4, "registered at onboarding")
	if !strings.Contains(bad.out, "token endpoint: "+f.url) || strings.Contains(bad.out, "scopes") {
		t.Errorf("status of a refused key:\n%s", bad.out)
	}
	badJSON := f.run(t, "", "isv", "status", "--client-id", testClientID, "--key", other, "--json")
	wantCode(t, badJSON, 4)
	if badJSON.out != "" {
		t.Errorf("status --json printed on failure: %q", badJSON.out)
	}
}
