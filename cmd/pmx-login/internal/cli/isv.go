package cli

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Environment variables that give the isv flags their defaults; a flag on
// the command line wins.
const (
	envClientID      = "PMX_CLIENT_ID"
	envKeyFile       = "PMX_KEY_FILE"
	envParticipantID = "PMX_PARTICIPANT_ID"
	envAuthURL       = "PMX_AUTH_URL"
	envAudience      = "PMX_AUDIENCE"
	envAPIURL        = "PMX_API_URL"
)

// isvFlags are the flags of `isv token` and `isv status`. One left empty
// takes its environment variable when the command runs.
type isvFlags struct {
	clientID, keyFile, participantID, authURL, audience, apiURL string
}

func (f *isvFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.clientID, "client-id", "", "client `ID` from onboarding, as in clientid.txt ("+envClientID+")")
	fs.StringVar(&f.keyFile, "key", "", "PEM private key `FILE` whose public key was registered at onboarding ("+envKeyFile+")")
	fs.StringVar(&f.participantID, "participant-id", "", "`ID` of the account to act for on account-scoped endpoints: firms/<Firm>/users/<user> ("+envParticipantID+")")
	fs.StringVar(&f.authURL, "auth-url", "", "token service `URL`, scheme and host only; default https://{authDomain} of --env; the assertion's aud is URL/oauth/token ("+envAuthURL+")")
	fs.StringVar(&f.audience, "audience", "", "audience `URL` the tokens are for; default https://{apiDomain} of --env ("+envAudience+")")
	fs.StringVar(&f.apiURL, "api-url", "", "API base `URL`; default https://{apiDomain} of --env ("+envAPIURL+")")
}

// fill gives each flag left empty the value of its environment variable.
func (f *isvFlags) fill(getenv func(string) string) {
	for _, p := range []struct {
		v    *string
		name string
	}{
		{&f.clientID, envClientID}, {&f.keyFile, envKeyFile}, {&f.participantID, envParticipantID},
		{&f.authURL, envAuthURL}, {&f.audience, envAudience}, {&f.apiURL, envAPIURL},
	} {
		if *p.v == "" {
			*p.v = strings.TrimSpace(getenv(p.name))
		}
	}
}

// isvTarget is what one run of `isv token` or `isv status` works with: the
// flags as resolved, the key and a Source built from them. The caller closes
// src.
type isvTarget struct {
	flags   isvFlags
	envName string // the environment, for display
	key     *rsa.PrivateKey
	src     *isv.Source
}

// newISVTarget checks the flags, loads the key and builds a Source. It sends
// nothing.
func (a *app) newISVTarget(f isvFlags) (*isvTarget, error) {
	f.fill(a.io.Getenv)
	switch {
	case f.clientID == "":
		return nil, usageErrorf(a.cmd, "no client ID: give --client-id ID or set %s (the ID in clientid.txt from onboarding)", envClientID)
	case strings.ContainsAny(f.clientID, " \t\r\n"):
		return nil, usageErrorf(a.cmd, "--client-id %q has spaces: give the ID exactly as in clientid.txt", f.clientID)
	case f.keyFile == "":
		return nil, usageErrorf(a.cmd, "no private key: give --key FILE or set %s (the NAME_private_key.pem `pmx-login isv keygen` wrote)", envKeyFile)
	case f.participantID != "" && !validParticipant(f.participantID):
		return nil, usageErrorf(a.cmd, "--participant-id %q is not of the form firms/<Firm>/users/<user>", f.participantID)
	}
	cfg := isv.Config{ClientID: f.clientID, AuthURL: f.authURL, Audience: f.audience, APIURL: f.apiURL}
	t := &isvTarget{flags: f, envName: a.g.env}
	if env, err := isvkit.LookupEnvironment(a.g.env); err == nil {
		cfg.Environment = env.Name
	} else if f.authURL == "" || f.audience == "" {
		return nil, usageErrorf(a.cmd, "unknown --env %q: use %s, or give --auth-url and --audience for another token service",
			a.g.env, strings.Join(traderapi.EnvironmentNames(), ", "))
	}
	if err := checkAuthURL(f.authURL); err != nil {
		return nil, usageErrorf(a.cmd, "%v", err)
	}
	key, err := a.loadISVKey(f.keyFile)
	if err != nil {
		return nil, err
	}
	t.key, cfg.Key = key, key
	var rt http.RoundTripper = http.DefaultTransport
	cfg.Logger = slog.New(slog.DiscardHandler)
	if a.g.debug {
		rt = &isvTrace{w: a.io.Err, base: rt}
		cfg.Logger = slog.New(slog.NewTextHandler(a.io.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.HTTPClient = &http.Client{Transport: rt} // RefreshTimeout bounds each request
	cfg.Now = a.io.Now
	cfg.RefreshTimeout = a.g.timeout
	cfg.Events = a.events
	if a.g.keystore == settings.KeystoreRedis {
		// Share one token among every process of the partner (issue 11).
		st, err := a.store()
		if err != nil {
			return nil, err
		}
		cfg.Store = st
	}
	if t.src, err = isv.New(cfg); err != nil {
		return nil, usageErrorf(a.cmd, "%v", err)
	}
	return t, nil
}

// checkAuthURL accepts "" (the environment's) or an http(s) scheme and host
// without a path: the CLI adds /oauth/token.
func checkAuthURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("--auth-url %q is not a scheme and host (example: https://pmx-preprod.us.auth0.com)", raw)
	case strings.TrimRight(u.Path, "/") == isvkit.TokenPath:
		return fmt.Errorf("--auth-url %q: give the scheme and host only, without %s (it is added)", raw, isvkit.TokenPath)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return fmt.Errorf("--auth-url %q: give the token service's scheme and host only, with no path, query or user", raw)
	}
	return nil
}

// loadISVKey loads the private key file. A missing file is a usage error; a
// file that is not a usable key gives the isv package's error, which says
// how to convert it (exit 2). A key others can read gets a warning.
func (a *app) loadISVKey(path string) (*rsa.PrivateKey, error) {
	key, err := isv.LoadPrivateKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErrorf(a.cmd, "--key %s: no such file; give the private key file (NAME_private_key.pem from `pmx-login isv keygen`)", path)
	}
	if errors.Is(err, isv.ErrBadKey) {
		return nil, &keyFileError{err: err}
	}
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(a.io.Err, "Warning: the private key %s is readable by others (mode %04o): chmod 600 %s\n", path, fi.Mode().Perm(), path)
	}
	return key, nil
}

// keyFileError is an isv key error with the PEM armour it mentions
// ("expected -----BEGIN PRIVATE KEY-----") written without the dashes: the
// last-guard redactor of [message] would take it for a key and hide the
// conversion hint. The isv package's key errors never hold key material.
type keyFileError struct{ err error }

func (e *keyFileError) Error() string { return strings.ReplaceAll(e.err.Error(), "-----", "") }
func (e *keyFileError) Unwrap() error { return e.err }

// validParticipant reports whether id has the shape firms/<Firm>/users/<user>.
func validParticipant(id string) bool {
	p := strings.Split(id, "/")
	return len(p) == 4 && p[0] == "firms" && p[2] == "users" && p[1] != "" && p[3] != "" &&
		!strings.ContainsAny(id, " \t\r\n")
}

// describeISVKey names a key by size and RFC 7638 thumbprint: nothing secret.
func describeISVKey(k *rsa.PrivateKey) string {
	return fmt.Sprintf("RSA-%d, thumbprint %s", k.N.BitLen(), isvkit.Thumbprint(&k.PublicKey))
}
