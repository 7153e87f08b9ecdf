package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Environment variables that give the global flags their defaults; a flag
// on the command line wins.
const (
	envEnv      = "PMX_ENV"
	envBaseURL  = "PMX_BASE_URL"
	envHost     = "PMX_HOST"
	envUsername = "PMX_USERNAME"
	envKeystore = "PMX_KEYSTORE"
	envJSON     = "PMX_JSON"
	envDebug    = "PMX_DEBUG"
	envTimeout  = "PMX_TIMEOUT"
	// envOTPCommand names a command whose stdout is a one-time code.
	envOTPCommand = "PMX_OTP_COMMAND"
)

// defaultTimeout bounds each command (but sandbox and demo).
const defaultTimeout = 30 * time.Second

// globals are the flags every command accepts, before or after its name.
type globals struct {
	env, baseURL, host, username, keystore string
	json, debug                            bool
	timeout                                time.Duration
}

// globalValueFlags are the global flags that take a value, for finding the
// command name among the arguments.
var globalValueFlags = map[string]bool{
	"--env": true, "--base-url": true, "--host": true, "--username": true, "--keystore": true, "--timeout": true,
}

// globalFlags returns the global flag set with defaults from the
// environment. A malformed boolean or duration in the environment is a
// usage error naming the variable.
func globalFlags(g *globals, getenv func(string) string) (*pflag.FlagSet, error) {
	fs := pflag.NewFlagSet("global", pflag.ContinueOnError)
	jsonDefault, err := envBool(getenv, envJSON)
	if err != nil {
		return nil, err
	}
	debugDefault, err := envBool(getenv, envDebug)
	if err != nil {
		return nil, err
	}
	timeout := defaultTimeout
	if v := getenv(envTimeout); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil || timeout <= 0 {
			return nil, usageErrorf("", "%s=%q is not a positive duration (example: 45s)", envTimeout, v)
		}
	}
	fs.StringVar(&g.env, "env", or(getenv(envEnv), "preprod"), "environment: dev01, preprod or prod ("+envEnv+")")
	fs.StringVar(&g.baseURL, "base-url", getenv(envBaseURL), "base URL to dial instead of the environment's private link ("+envBaseURL+")")
	fs.StringVar(&g.host, "host", getenv(envHost), "Host header to send instead of the environment's REST host ("+envHost+")")
	fs.StringVar(&g.username, "username", getenv(envUsername), "exchange username; default the last user who logged in ("+envUsername+")")
	fs.StringVar(&g.keystore, "keystore", or(getenv(envKeystore), "keyring"), "where sessions are kept: keyring, file or memory ("+envKeystore+")")
	fs.BoolVar(&g.json, "json", jsonDefault, "print JSON ("+envJSON+")")
	fs.BoolVar(&g.debug, "debug", debugDefault, "trace HTTP on stderr, secrets redacted ("+envDebug+")")
	fs.DurationVar(&g.timeout, "timeout", timeout, "time limit of the command's exchange and keystore calls; prompts and waits for a one-time code window do not count ("+envTimeout+")")
	return fs, nil
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, usageErrorf("", "%s=%q is not a boolean (use 1 or 0)", name, v)
	}
	return b, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// check validates what can be checked before the command runs.
func (g *globals) check() error {
	if g.timeout <= 0 {
		return usageErrorf("", "--timeout %s is not positive", g.timeout)
	}
	switch g.keystore {
	case "keyring", "file", "memory":
	default:
		return usageErrorf("", "--keystore %q: use keyring, file or memory", g.keystore)
	}
	return nil
}

// String describes the options (there is no secret among them).
func (g *globals) String() string {
	return fmt.Sprintf("env=%s base-url=%s host=%s user=%s keystore=%s", g.env, g.baseURL, g.host, g.username, g.keystore)
}
