package settings

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/pmx-login/pmx-login/internal/highwater"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// The environment variables [SettingsFromEnv] reads: the ones pmx-login's
// global flags take their defaults from, so a bot and the CLI agree on
// where a session is.
const (
	EnvEnvironment = "PMX_ENV"      // --env: dev01, preprod (default) or prod, or a custom name with PMX_BASE_URL
	EnvBaseURL     = "PMX_BASE_URL" // --base-url: the URL to dial instead of the environment's
	EnvHost        = "PMX_HOST"     // --host: the Host header to send instead of the environment's
	EnvUsername    = "PMX_USERNAME" // --username: default the environment's last user
	EnvKeystore    = "PMX_KEYSTORE" // --keystore: keyring (default), file, redis or memory
	// EnvRedisURL is the Redis of the redis keystore (--redis-url), in a
	// form [redis.ParseURL] reads: redis://, rediss://,
	// redis-sentinel:// or redis-cluster://. It may hold a password.
	EnvRedisURL = "PMX_REDIS_URL"
	// EnvRedisKeyFile is the file holding the key that encrypts the
	// records of the redis keystore (--redis-key-file).
	EnvRedisKeyFile = "PMX_REDIS_KEY_FILE"
	// EnvRedisOldKeyFiles lists the files of older keys that still decrypt
	// records during a key rotation (--redis-old-key-file), separated as
	// PATH is (':' on Unix, ';' on Windows).
	EnvRedisOldKeyFiles = "PMX_REDIS_OLD_KEY_FILES"
	// EnvConfigHome is where the file keystore lives on Linux and the BSDs
	// ($XDG_CONFIG_HOME/pmx-login), when it is an absolute path.
	EnvConfigHome = "XDG_CONFIG_HOME"
)

// The keystores [Settings.Keystore] names (pmx-login's --keystore); each
// store's Backend method returns its name.
const (
	KeystoreKeyring = "keyring" // the OS keychain, the default
	KeystoreFile    = "file"    // files of mode 0600 (see [Settings.FileDir])
	KeystoreRedis   = "redis"   // a Redis shared by a fleet, records encrypted
	KeystoreMemory  = "memory"  // this process only
)

// DefaultEnvironment is the environment when none is named.
const DefaultEnvironment = traderapi.Preprod

// Errors of [Settings], to branch on with [errors.Is]. Each also matches
// [session.ErrConfig], so that session.Classify calls it a configuration
// mistake.
var (
	// ErrUnknownEnvironment: the environment is none of dev01, preprod and
	// prod, and no base URL was given to make it a custom one.
	ErrUnknownEnvironment error = configError("unknown environment")
	// ErrUnknownKeystore: the keystore backend is none of keyring, file,
	// redis and memory.
	ErrUnknownKeystore error = configError("unknown keystore backend")
	// ErrRedisSettings: the redis keystore lacks its URL or key file.
	ErrRedisSettings error = configError("incomplete redis keystore settings")
)

// configError is a sentinel that also matches session.ErrConfig.
type configError string

func (e configError) Error() string { return string(e) }

func (e configError) Is(target error) bool { return target == session.ErrConfig }

// Settings say where a session is: the exchange environment, the user and
// the keystore. They are pmx-login's global options (--env, --base-url,
// --host, --username, --keystore, --redis-url, --redis-key-file);
// [SettingsFromEnv] fills them from the
// same environment variables, and a program with its own flags sets the
// fields over that. The zero value means preprod, the last user and the
// OS keychain.
type Settings struct {
	// Env names the environment (default preprod). A name other than
	// dev01, preprod and prod needs BaseURL: it names a custom environment
	// whose sessions are kept under that name.
	Env string
	// BaseURL and Host, when set, replace the environment's.
	BaseURL, Host string
	// Username is the user to resume; empty means the environment's last.
	Username string
	// Keystore is the backend: [KeystoreKeyring] (also ""),
	// [KeystoreFile], [KeystoreRedis] or [KeystoreMemory].
	Keystore string
	// RedisURL and RedisKeyFile are where the redis keystore is and the
	// file of the key that encrypts its records ([redis.Open]).
	// RedisURL may hold a password: never print it (a
	// [redis.URL] prints without it).
	RedisURL, RedisKeyFile string
	// RedisOldKeyFiles are files of older keys, read with during a key
	// rotation and never written with ([redis.WithOlderKeys]).
	RedisOldKeyFiles []string
	// RedisOptions are added to the redis keystore's defaults
	// ([redis.WithSavedBy] hostname/pid).
	RedisOptions []redis.Option
	// ConfigHome is $XDG_CONFIG_HOME: on Linux and the BSDs, an absolute
	// ConfigHome puts the file keystore in ConfigHome/pmx-login; otherwise
	// it is in [file.DefaultDir].
	ConfigHome string
}

// SettingsFromEnv reads [Settings] through getenv (os.Getenv, or a test's
// map): PMX_ENV, PMX_BASE_URL, PMX_HOST, PMX_USERNAME, PMX_KEYSTORE,
// PMX_REDIS_URL, PMX_REDIS_KEY_FILE, PMX_REDIS_OLD_KEY_FILES and
// XDG_CONFIG_HOME. It does not check
// them; [Settings.Config] does.
func SettingsFromEnv(getenv func(string) string) Settings {
	return Settings{
		Env:          getenv(EnvEnvironment),
		BaseURL:      getenv(EnvBaseURL),
		Host:         getenv(EnvHost),
		Username:     getenv(EnvUsername),
		Keystore:     getenv(EnvKeystore),
		RedisURL:     getenv(EnvRedisURL),
		RedisKeyFile: getenv(EnvRedisKeyFile),
		ConfigHome:   getenv(EnvConfigHome),

		RedisOldKeyFiles: filepath.SplitList(getenv(EnvRedisOldKeyFiles)),
	}
}

// EnvironmentName is Env as a session is kept under: trimmed, lower
// case, [DefaultEnvironment] when empty.
func (s Settings) EnvironmentName() string {
	return cmp.Or(strings.ToLower(strings.TrimSpace(s.Env)), DefaultEnvironment)
}

// Environment returns the named environment (names are not case
// sensitive) with BaseURL and Host applied. An unknown name without a
// BaseURL is an error matching [ErrUnknownEnvironment].
func (s Settings) Environment() (traderapi.Environment, error) {
	name := s.EnvironmentName()
	env, err := traderapi.LookupEnvironment(name)
	if err != nil {
		if s.BaseURL == "" {
			return env, fmt.Errorf("%w %q: use one of dev01, preprod and prod, or give a base URL (and host) for another", ErrUnknownEnvironment, name)
		}
		env = traderapi.Environment{Name: name}
	}
	if s.BaseURL != "" {
		env.BaseURL = s.BaseURL
	}
	if s.Host != "" {
		env.Host = s.Host
	}
	return env, nil
}

// Store opens the keystore backend Keystore names: the OS keychain, the
// file keystore (see ConfigHome), the redis keystore (RedisURL,
// RedisKeyFile; a missing one is an error matching [ErrRedisSettings]) or a
// memory store. An unknown name is an error matching [ErrUnknownKeystore].
// Each call opens a new store; open it once per program. A redis store
// holds connections: the program closes it ([redis.Store.Close]) when it
// is done with its managers. Opening it does not contact Redis.
func (s Settings) Store() (keystore.Store, error) {
	switch s.Keystore {
	case "", KeystoreKeyring:
		return keyring.New(), nil
	case KeystoreMemory:
		return keystore.NewMemory(), nil
	case KeystoreFile:
		dir, err := s.FileDir()
		if err != nil {
			return nil, err
		}
		return file.New(dir)
	case KeystoreRedis:
		return s.openRedis()
	}
	return nil, fmt.Errorf("%w %q: use keyring, file, redis or memory", ErrUnknownKeystore, s.Keystore)
}

// openRedis opens the redis keystore, tagging what it writes with
// hostname/pid unless RedisOptions say otherwise.
func (s Settings) openRedis() (*redis.Store, error) {
	switch {
	case s.RedisURL == "":
		return nil, fmt.Errorf("%w: the redis keystore needs a Redis URL (%s)", ErrRedisSettings, EnvRedisURL)
	case s.RedisKeyFile == "":
		return nil, fmt.Errorf("%w: the redis keystore needs a key file (%s)", ErrRedisSettings, EnvRedisKeyFile)
	}
	host, _ := os.Hostname()
	opts := []redis.Option{redis.WithSavedBy(host + "/" + strconv.Itoa(os.Getpid()))}
	for _, p := range s.RedisOldKeyFiles {
		k, err := redis.LoadKeyFile(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, redis.WithOlderKeys(k))
	}
	opts = append(opts, s.RedisOptions...)
	return redis.Open(s.RedisURL, s.RedisKeyFile, opts...)
}

// FileDir is the directory of the file keystore: ConfigHome/pmx-login on
// Linux and the BSDs when ConfigHome is absolute, else
// [file.DefaultDir].
func (s Settings) FileDir() (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
	default:
		if filepath.IsAbs(s.ConfigHome) {
			return filepath.Join(s.ConfigHome, "pmx-login"), nil
		}
	}
	return file.DefaultDir()
}

// Config returns a [session.Config] for [session.New]: Environment, a *traderapi.Client
// built with opts, Store, Username and, unless the keystore is memory,
// Generations kept in files beside the file keystore's, shared with
// pmx-login (a stored session written back from an old copy is refused). The caller adds the rest (Now,
// Logger, Relogin, ...); a clock given with [traderapi.WithClock] among
// opts is the manager's too.
func (s Settings) Config(opts ...traderapi.Option) (session.Config, error) {
	env, err := s.Environment()
	if err != nil {
		return session.Config{}, err
	}
	client, err := traderapi.NewClient(env, opts...)
	if err != nil {
		return session.Config{}, err
	}
	st, err := s.Store()
	if err != nil {
		return session.Config{}, err
	}
	cfg := session.Config{Environment: env.Name, Client: client, Store: st, Username: s.Username}
	if s.Keystore != KeystoreMemory {
		if dir, err := s.FileDir(); err == nil {
			cfg.Generations = highwater.New(filepath.Join(dir, ".generations")) // as pmx-login keeps it
		}
	}
	return cfg, nil
}

// ConfigFromEnv is [SettingsFromEnv] followed by [Settings.Config]: the
// configuration pmx-login would use with no flags given.
func ConfigFromEnv(getenv func(string) string, opts ...traderapi.Option) (session.Config, error) {
	return SettingsFromEnv(getenv).Config(opts...)
}
