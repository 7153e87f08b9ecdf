package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// sandboxUser is the user the sandbox mints a registration token for.
const sandboxUser = "trader1"

// sandboxClientID is the ISV client the sandbox registers.
const sandboxClientID = "sandbox-isv-client"

// sandboxScopes are what the sandbox's ISV client is granted: every scope
// of the sample API.
var sandboxScopes = []string{"read:accounts", "write:orders", "read:positions", "read:marketdata"}

type sandboxOptions struct {
	*app
	addr                  string
	accessTTL, refreshTTL time.Duration
	isvPublicKey          string
}

func sandboxCommand() command {
	return command{
		name:    "sandbox",
		args:    "[--addr 127.0.0.1:PORT] [--access-ttl D] [--refresh-ttl D] [--isv-public-key FILE]",
		summary: "Run a local exchange (trader and ISV sides) to try every command against",
		long: `Serves a faithful local exchange (no account, no network) until interrupted, and
prints the export lines to paste into another shell. The trader side: the auth
endpoints and a sample trading call, with a registration token for user "trader1"
written to a file. The ISV side: an Auth0-like token service (PMX_AUTH_URL) and the
sample partner API (PMX_API_URL), with a client ID whose key pair the sandbox made
(PMX_KEY_FILE), so that 'isv token', 'isv status' and 'doctor' work with no account.
To use your own key, make it with 'pmx-login isv keygen --out mykey' and start the
sandbox with --isv-public-key mykey_public_key.pem. --access-ttl and --refresh-ttl
shorten the token lifetimes to watch refreshes and expiry happen in minutes.
Sessions go to a temporary XDG_CONFIG_HOME that is removed on exit, never to your
keychain. Every token and key it prints is a credential of the sandbox only.`,
		example: `pmx-login sandbox --addr 127.0.0.1:8443 --access-ttl 2m --refresh-ttl 10m
# in another shell: paste the export lines, then
pmx-login register --token-file "$PMX_SANDBOX_DIR/registration.jwt" && pmx-login login --username trader1
pmx-login isv status`,
		noTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &sandboxOptions{app: a}
			fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (`HOST:PORT`; port 0 picks a free one)")
			fs.DurationVar(&o.accessTTL, "access-ttl", time.Hour, "lifetime of the trader access tokens")
			fs.DurationVar(&o.refreshTTL, "refresh-ttl", 7*24*time.Hour, "lifetime of the trader refresh tokens (the session)")
			fs.StringVar(&o.isvPublicKey, "isv-public-key", "", "register this public key `FILE` (from isv keygen) for the ISV client instead of a key the sandbox makes")
			return func(ctx context.Context) error { return runSandbox(ctx, o) }
		},
	}
}

// sandbox is what one run of `pmx-login sandbox` serves.
type sandbox struct {
	ex      *traderapitest.Exchange
	auth    *traderapitest.AuthServer
	api     *traderapitest.APIServer
	dir     string // the temporary XDG_CONFIG_HOME and its files
	keyFile string // the ISV private key the sandbox made ("" with --isv-public-key)
	regFile string // the registration token of sandboxUser
}

// ServeHTTP sends the ISV token service's and the partner API's paths to
// them, and everything else to the trader exchange.
func (s *sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == isvkit.TokenPath || strings.HasPrefix(r.URL.Path, "/.well-known/"):
		s.auth.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		s.api.ServeHTTP(w, r)
	default:
		s.ex.ServeHTTP(w, r)
	}
}

func (o *sandboxOptions) check() error {
	switch {
	case o.accessTTL < 5*time.Second:
		return usageErrorf(o.cmd, "--access-ttl %s: give at least 5s", o.accessTTL)
	case o.refreshTTL < o.accessTTL:
		return usageErrorf(o.cmd, "--refresh-ttl %s is shorter than --access-ttl %s", o.refreshTTL, o.accessTTL)
	}
	return nil
}

// newSandbox builds the servers and writes the sandbox's files in dir.
func (o *sandboxOptions) newSandbox(dir string) (*sandbox, error) {
	s := &sandbox{dir: dir,
		ex:   traderapitest.New(traderapitest.Options{AccessTTL: o.accessTTL, RefreshTTL: o.refreshTTL}),
		auth: traderapitest.NewAuthServer(traderapitest.AuthOptions{})}
	s.api = traderapitest.NewAPIServer(s.auth)
	s.regFile = filepath.Join(dir, "registration.jwt")
	if err := writeNewFile(s.regFile, []byte(s.ex.RegistrationToken(sandboxUser)+"\n"), 0o600); err != nil {
		return nil, err
	}
	if o.isvPublicKey != "" {
		b, err := os.ReadFile(o.isvPublicKey)
		if err != nil {
			return nil, usageErrorf(o.cmd, "--isv-public-key: %v", err)
		}
		pub, err := isvkit.ParsePublicKeyPEM(b)
		if err != nil {
			return nil, usageErrorf(o.cmd, "--isv-public-key %s: %v", o.isvPublicKey, err)
		}
		s.auth.RegisterClient(sandboxClientID, pub, sandboxScopes)
		return s, nil
	}
	key, err := isvkit.GenerateKey(2048)
	if err != nil {
		return nil, err
	}
	s.keyFile = filepath.Join(dir, "sandbox_private_key.pem")
	if err := writeNewFile(s.keyFile, isvkit.MarshalPrivateKeyPEM(key), 0o600); err != nil {
		return nil, err
	}
	s.auth.RegisterClient(sandboxClientID, &key.PublicKey, sandboxScopes)
	return s, nil
}

func runSandbox(ctx context.Context, o *sandboxOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.addr)
	if err != nil {
		return usageErrorf(o.cmd, "cannot listen on %s: %v", o.addr, err)
	}
	defer ln.Close()
	dir, err := os.MkdirTemp("", "pmx-login-sandbox-")
	if err != nil {
		return fmt.Errorf("creating the sandbox's config directory: %w", err)
	}
	defer os.RemoveAll(dir)
	s, err := o.newSandbox(dir)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	o.printSandbox(o.io.Out, s, "http://"+ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("the sandbox server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the sandbox: %w", err)
	}
	fmt.Fprintln(o.io.Err, "sandbox stopped")
	return nil
}

// printSandbox prints the lines to paste, and what to try. Every secret is
// in a file: none is printed.
func (o *sandboxOptions) printSandbox(w io.Writer, s *sandbox, base string) {
	fmt.Fprintf(w, "# pmx-login sandbox: a local exchange at %s; Ctrl-C stops it.\n", base)
	fmt.Fprintf(w, "# Access tokens live %s, sessions %s.\n", o.accessTTL, o.refreshTTL)
	fmt.Fprintln(w, "# Paste these lines into another shell:")
	fmt.Fprintf(w, "export PMX_BASE_URL=%s\n", base)
	fmt.Fprintf(w, "export PMX_HOST=%s\n", s.ex.Host())
	fmt.Fprintln(w, "export PMX_ENV=preprod")
	fmt.Fprintln(w, "export PMX_KEYSTORE=file")
	fmt.Fprintf(w, "export XDG_CONFIG_HOME=%s\n", s.dir)
	fmt.Fprintf(w, "export PMX_SANDBOX_DIR=%s\n", s.dir)
	fmt.Fprintf(w, "export %s=%s\n", envAuthURL, base)
	fmt.Fprintf(w, "export %s=%s\n", envAudience, s.auth.Audience())
	fmt.Fprintf(w, "export %s=%s\n", envAPIURL, base)
	fmt.Fprintf(w, "export %s=%s\n", envClientID, sandboxClientID)
	if s.keyFile != "" {
		fmt.Fprintf(w, "export %s=%s\n", envKeyFile, s.keyFile)
	}
	fmt.Fprintln(w, "# Trader: the registration token for user \"trader1\" is in $PMX_SANDBOX_DIR/registration.jwt")
	fmt.Fprintln(w, "#   pmx-login register --token-file \"$PMX_SANDBOX_DIR/registration.jwt\"")
	fmt.Fprintln(w, "#   pmx-login login --username trader1 && pmx-login status && pmx-login token | pmx-login decode -")
	if s.keyFile != "" {
		fmt.Fprintln(w, "# ISV: the client's key pair was made by the sandbox ($PMX_KEY_FILE)")
	} else {
		fmt.Fprintf(w, "# ISV: your public key %s is registered; export %s=<your private key file>\n", o.isvPublicKey, envKeyFile)
	}
	fmt.Fprintln(w, "#   pmx-login isv status && pmx-login doctor --client-id \"$PMX_CLIENT_ID\" --key \"$PMX_KEY_FILE\"")
	fmt.Fprintln(w, "#   (own key: pmx-login isv keygen --out mykey, then restart with --isv-public-key mykey_public_key.pem)")
}
