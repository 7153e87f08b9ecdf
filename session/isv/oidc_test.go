package isv

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// requireTool skips the test with msg, or fails it when PMX_REQUIRE_TOOLS=1
// (as in CI).
func requireTool(t *testing.T, msg string) {
	t.Helper()
	tooltest.Skip(t, msg, "run .ci/run (it installs node and oidc-provider and sets PMX_OIDC_DIR)")
}

// startOIDCProvider runs .ci/oidc/server.mjs (oidc-provider) on a free
// loopback port with the test client registered, and returns its URL and
// its stderr, where it names the cause of each refusal.
func startOIDCProvider(t *testing.T, audience string, env ...string) (url string, stderr *helperproc.Buffer) {
	t.Helper()
	dir := os.Getenv("PMX_OIDC_DIR")
	if dir == "" {
		requireTool(t, "PMX_OIDC_DIR is not set: run `npm ci --prefix .ci/oidc` and set PMX_OIDC_DIR=$PWD/.ci/oidc to run the oidc-provider test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		requireTool(t, "node is not installed: the oidc-provider test needs Node.js")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		requireTool(t, "oidc-provider is not installed in "+dir+": run `npm ci --prefix "+dir+"`")
	}
	key := loadKey(t, "client-pkcs1.pem")
	jwk, err := isvkit.PublicJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "server.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PMX_OIDC_PORT=0", "PMX_OIDC_CLIENT_ID="+testClientID,
		"PMX_OIDC_JWK="+string(jwk), "PMX_OIDC_AUDIENCE="+audience)
	cmd.Env = append(cmd.Env, env...)
	stdin, err := cmd.StdinPipe() // the server exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &helperproc.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd, err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				lines <- url
			}
		}
		close(lines)
	}()
	select {
	case url, ok := <-lines:
		if !ok {
			t.Fatalf("oidc-provider exited before listening: %s", stderr.String())
		}
		return url, stderr
	case <-time.After(20 * time.Second):
		t.Fatalf("oidc-provider did not listen within 20 s: %s", stderr.String())
	}
	return "", nil
}

// An independent verifier, oidc-provider, accepts the client's assertions
// (private_key_jwt, RS256) and refuses a wrong key and a reused jti.
func TestIndependentVerifierOIDCProvider(t *testing.T) {
	t.Parallel()
	const audience = "https://api.local.test"
	url, stderr := startOIDCProvider(t, audience, "PMX_OIDC_TTL=120", "PMX_OIDC_SCOPE=read:accounts read:positions")
	cfg := Config{ClientID: testClientID, Key: loadKey(t, "client-pkcs1.pem"), AuthURL: url, Audience: audience,
		FormEncoded: true, Scopes: []string{"read:accounts"}}

	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	before := time.Now()
	tok := mustToken(t, src)
	if exp := src.Expiry(); exp.Before(before.Add(119*time.Second)) || exp.After(time.Now().Add(121*time.Second)) {
		t.Errorf("Expiry = %s, want 120 s from now (oidc-provider's expires_in)", exp)
	}
	if !isvkit.HasScope(tok, "read:accounts") || isvkit.HasScope(tok, "read:positions") {
		t.Errorf("scopes of the oidc-provider token: %q", src.Scope())
	}
	_, claims := decodeForTest(t, tok.Reveal())
	if claims["aud"] != audience || claims["client_id"] != testClientID {
		t.Errorf("access token aud %v, client_id %v", claims["aud"], claims["client_id"])
	}

	t.Run("wrong key", func(t *testing.T) {
		c := cfg
		c.Key = loadKey(t, "other-pkcs8.pem")
		bad, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		if _, err := bad.Token(t.Context()); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("wrong key: %v, want ErrInvalidClient", err)
		}
		eventually(t, "oidc-provider logs a signature failure", func() bool {
			return strings.Contains(stderr.String(), "signature verification failed")
		})
	})
	t.Run("reused jti", func(t *testing.T) {
		replay, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer replay.Close()
		replay.newJTI = func() string { return "7c9e6679-7425-40de-944b-e07fc1f90ae7" }
		first := mustToken(t, replay)
		replay.Invalidate(first)
		if _, err := replay.Token(t.Context()); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("reused jti: %v, want ErrInvalidClient (oidc-provider reports every client auth failure so)", err)
		}
		eventually(t, "oidc-provider logs the replay", func() bool {
			return strings.Contains(stderr.String(), "client assertion tokens must only be used once")
		})
	})
	t.Run("JSON body", func(t *testing.T) {
		c := cfg
		c.FormEncoded = false // Auth0's JSON: a standard server does not take it
		j, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if _, err := j.Token(t.Context()); err == nil {
			t.Fatal("oidc-provider accepted a JSON token request; FormEncoded would be pointless")
		}
	})
}
