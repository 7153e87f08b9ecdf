package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/settings"
)

// Environment variables that give the global flags their defaults; a flag
// on the command line wins. Those that say where the session is are
// session's ([settings.SettingsFromEnv] reads the same), so that a bot and
// the CLI agree.
const (
	envEnv              = settings.EnvEnvironment
	envBaseURL          = settings.EnvBaseURL
	envHost             = settings.EnvHost
	envUsername         = settings.EnvUsername
	envKeystore         = settings.EnvKeystore
	envRedisURL         = settings.EnvRedisURL
	envRedisKeyFile     = settings.EnvRedisKeyFile
	envRedisOldKeyFiles = settings.EnvRedisOldKeyFiles
	envJSON             = "PMX_JSON"
	envDebug            = "PMX_DEBUG"
	envTimeout          = "PMX_TIMEOUT"
	// envOTPCommand names a command whose stdout is a one-time code.
	envOTPCommand = "PMX_OTP_COMMAND"
)

// defaultTimeout bounds each command (but sandbox and demo).
const defaultTimeout = 30 * time.Second

// globals are the flags every command accepts, before or after its name.
type globals struct {
	env, baseURL, host, username, keystore string
	redisURL, redisKeyFile                 string
	redisOldKeyFiles                       []string
	json, debug                            bool
	timeout                                time.Duration
}

// globalValueFlags are the global flags that take a value, for finding the
// command name among the arguments.
var globalValueFlags = map[string]bool{
	"--env": true, "--base-url": true, "--host": true, "--username": true, "--keystore": true, "--timeout": true,
	"--redis-url": true, "--redis-key-file": true,
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
	fs.StringVar(&g.env, "env", or(getenv(envEnv), settings.DefaultEnvironment), "environment: dev01, preprod or prod ("+envEnv+")")
	fs.StringVar(&g.baseURL, "base-url", getenv(envBaseURL), "base URL to dial instead of the environment's private link ("+envBaseURL+")")
	fs.StringVar(&g.host, "host", getenv(envHost), "Host header to send instead of the environment's REST host ("+envHost+")")
	fs.StringVar(&g.username, "username", getenv(envUsername), "exchange username; default the last user who logged in ("+envUsername+")")
	fs.StringVar(&g.keystore, "keystore", or(getenv(envKeystore), settings.KeystoreKeyring), "where sessions are kept: keyring, file, redis or memory ("+envKeystore+")")
	fs.StringVar(&g.redisURL, "redis-url", getenv(envRedisURL), "Redis of --keystore redis: redis://[user:password@]host:port/db, rediss://, redis-sentinel://, redis-cluster:// ("+envRedisURL+"; prefer the variable to keep the password out of argv)")
	fs.StringVar(&g.redisKeyFile, "redis-key-file", getenv(envRedisKeyFile), "`FILE` of the key that encrypts the records of --keystore redis, mode 0600 ("+envRedisKeyFile+"; make one with pmx-login redis keygen)")
	fs.StringArrayVar(&g.redisOldKeyFiles, "redis-old-key-file", filepath.SplitList(getenv(envRedisOldKeyFiles)), "`FILE` of an older key that still decrypts records during a key rotation; repeat for several ("+envRedisOldKeyFiles+", a list like PATH)")
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
	case settings.KeystoreKeyring, settings.KeystoreFile, settings.KeystoreMemory, settings.KeystoreRedis:
		// --keystore redis's flags are checked when the store is opened
		// (commands that open none do not need them).
	default:
		return usageErrorf("", "--keystore %q: use keyring, file, redis or memory", g.keystore)
	}
	return nil
}

// checkRedis checks the flags of --keystore redis before the store is
// opened: a URL that parses (its error never quotes it) and a key file.
func (g *globals) checkRedis() error {
	if g.redisURL == "" {
		return usageErrorf("", "--keystore redis needs --redis-url (%s)", envRedisURL)
	}
	if _, err := redis.ParseURL(g.redisURL); err != nil {
		return usageErrorf("", "--redis-url: %v", err)
	}
	if g.redisKeyFile == "" {
		return usageErrorf("", "--keystore redis needs --redis-key-file (%s): make one with `pmx-login redis keygen --out FILE` and give every process a copy", envRedisKeyFile)
	}
	return nil
}

// settings are the options that say where the session is, for
// [settings.Settings]' rules (shared with bots).
func (g *globals) settings(getenv func(string) string) settings.Settings {
	return settings.Settings{
		Env: g.env, BaseURL: g.baseURL, Host: g.host, Username: g.username,
		Keystore: g.keystore, RedisURL: g.redisURL, RedisKeyFile: g.redisKeyFile,
		RedisOldKeyFiles: g.redisOldKeyFiles, ConfigHome: getenv(settings.EnvConfigHome),
	}
}

// String describes the options (the Redis URL without its password).
func (g *globals) String() string {
	redisURL := ""
	if u, err := redis.ParseURL(g.redisURL); err == nil {
		redisURL = u.String()
	}
	return fmt.Sprintf("env=%s base-url=%s host=%s user=%s keystore=%s redis-url=%s redis-key-file=%s redis-old-key-files=%s",
		g.env, g.baseURL, g.host, g.username, g.keystore, redisURL, g.redisKeyFile, strings.Join(g.redisOldKeyFiles, string(filepath.ListSeparator)))
}
