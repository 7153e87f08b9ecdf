package settings_test

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// env is a getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestSettingsFromEnv: the variables the CLI reads, with its defaults and
// its rules for custom environments.
func TestSettingsFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		vars                 map[string]string
		wantEnv, wantBaseURL string
		wantHost, wantUser   string
		wantBackend          string
	}{
		{"defaults", nil, "preprod", "https://traderapi.us-east-1.privatelink.preprod.polymarketexchange.com", "rest.preprod.polymarketexchange.com", "", "keyring"},
		{"prod with a host", map[string]string{"PMX_ENV": "prod", "PMX_HOST": "rest.example.com", "PMX_USERNAME": "bot1", "PMX_KEYSTORE": "memory"},
			"prod", "https://traderapi.us-east-1.privatelink.prod.polymarketexchange.com", "rest.example.com", "bot1", "memory"},
		{"custom environment", map[string]string{"PMX_ENV": "local", "PMX_BASE_URL": "http://127.0.0.1:8080"},
			"local", "http://127.0.0.1:8080", "", "", "keyring"},
		{"known environment, other URL", map[string]string{"PMX_ENV": "dev01", "PMX_BASE_URL": "https://proxy.example.com"},
			"dev01", "https://proxy.example.com", "rest.dev01.polymarketexchange.com", "", "keyring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := settings.ConfigFromEnv(env(tt.vars))
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			e := cfg.Client.(*traderapi.Client).Environment()
			if cfg.Environment != tt.wantEnv || e.Name != tt.wantEnv || e.BaseURL != tt.wantBaseURL || e.Host != tt.wantHost {
				t.Errorf("environment = %q %+v, want %s %s %s", cfg.Environment, e, tt.wantEnv, tt.wantBaseURL, tt.wantHost)
			}
			if cfg.Username != tt.wantUser || cfg.Store.(keystore.Store).Backend() != tt.wantBackend {
				t.Errorf("username %q, backend %s; want %q, %s", cfg.Username, cfg.Store.(keystore.Store).Backend(), tt.wantUser, tt.wantBackend)
			}
		})
	}
}

// TestSettingsErrors: an unknown environment without a base URL, an
// unknown keystore and a bad base URL are errors naming the value.
func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vars map[string]string
		want error
	}{
		{map[string]string{"PMX_ENV": "staging"}, settings.ErrUnknownEnvironment},
		{map[string]string{"PMX_KEYSTORE": "vault"}, settings.ErrUnknownKeystore},
		{map[string]string{"PMX_KEYSTORE": "KEYRING"}, settings.ErrUnknownKeystore},
		{map[string]string{"PMX_ENV": "local", "PMX_BASE_URL": "ftp://x"}, nil},
	}
	for _, tt := range tests {
		_, err := settings.ConfigFromEnv(env(tt.vars))
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("ConfigFromEnv(%v) = %v, want %v", tt.vars, err, tt.want)
		}
	}
}

// TestSettingsFileDir: PMX_KEYSTORE=file with an absolute XDG_CONFIG_HOME
// keeps sessions in $XDG_CONFIG_HOME/pmx-login, as the CLI does.
func TestSettingsFileDir(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("XDG_CONFIG_HOME is read on Linux and the BSDs only")
	}
	home := t.TempDir()
	cfg, err := settings.ConfigFromEnv(env(map[string]string{"PMX_KEYSTORE": "file", "XDG_CONFIG_HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := cfg.Store.(*file.Store)
	if !ok || f.Dir() != filepath.Join(home, "pmx-login") {
		t.Fatalf("store = %T, want a file store in %s", cfg.Store, filepath.Join(home, "pmx-login"))
	}
}

// TestConfigFromEnvSharedSession: a session logged in by one program is
// resumed by another that has only the same environment variables, with no
// username given (the last user).
func TestConfigFromEnvSharedSession(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("needs XDG_CONFIG_HOME")
	}
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	vars := env(map[string]string{
		"PMX_ENV": "local", "PMX_BASE_URL": srv.URL, "PMX_HOST": srv.Host(),
		"PMX_KEYSTORE": "file", "XDG_CONFIG_HOME": t.TempDir(),
	})
	first := newFromEnv(t, vars)
	if err := first.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	second := newFromEnv(t, vars)
	if err := second.Resume(t.Context()); err != nil {
		t.Fatalf("Resume from the same environment: %v", err)
	}
	if st := second.Status(); st.Username != testUser || st.Environment != "local" || !st.LoggedIn {
		t.Errorf("resumed status = %+v", st)
	}
}

func newFromEnv(t *testing.T, getenv func(string) string) *session.Manager {
	t.Helper()
	cfg, err := settings.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestSettingsRedis: PMX_KEYSTORE=redis opens the redis keystore from
// PMX_REDIS_URL and PMX_REDIS_KEY_FILE (without contacting Redis), names
// neither the password nor the key in what it prints, and a missing URL or
// key file is an error matching ErrRedisSettings.
func TestSettingsRedis(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redis.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	const password = "redis-Pass-6f1c"
	vars := map[string]string{"PMX_KEYSTORE": "redis", "PMX_REDIS_URL": "redis://bot:" + password + "@127.0.0.1:1/2", "PMX_REDIS_KEY_FILE": keyFile}
	cfg, err := settings.ConfigFromEnv(env(vars))
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	r, ok := cfg.Store.(*redis.Store)
	if !ok {
		t.Fatalf("store = %T, want *redis.Store", cfg.Store)
	}
	t.Cleanup(func() { _ = r.Close() })
	if s := fmt.Sprintf("%v %+v %#v", r, r, r); strings.Contains(s, password) {
		t.Errorf("the store prints the Redis password: %s", s)
	}
	v := maps.Clone(vars)
	v["PMX_REDIS_OLD_KEY_FILES"] = keyFile + string(filepath.ListSeparator) + filepath.Join(t.TempDir(), "missing.key")
	if _, err := settings.ConfigFromEnv(env(v)); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("PMX_REDIS_OLD_KEY_FILES naming a missing file: %v, want an error naming it", err)
	}
	for _, missing := range []string{"PMX_REDIS_URL", "PMX_REDIS_KEY_FILE"} {
		v := maps.Clone(vars)
		delete(v, missing)
		if _, err := settings.ConfigFromEnv(env(v)); !errors.Is(err, settings.ErrRedisSettings) || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v, want ErrRedisSettings naming it", missing, err)
		}
	}
}

// TestSettingsEnvironmentCase: environment names are not case sensitive.
func TestSettingsEnvironmentCase(t *testing.T) {
	t.Parallel()
	e, err := settings.Settings{Env: " Prod "}.Environment()
	if err != nil || e.Name != "prod" {
		t.Fatalf("Environment(Prod) = %+v, %v; want prod", e, err)
	}
}

// The user the shared-session test logs in.
const (
	testUser     = "trader1"
	testPassword = traderapi.Secret("correct-horse-42-battery")
)

// TestStartResumesAndRefreshes: Start opens the store the settings name,
// resumes what `pmx-login login` stored there and refreshes in the
// background; Close ends it. Without a stored session it says not logged
// in.
func TestStartResumesAndRefreshes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("needs XDG_CONFIG_HOME")
	}
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: 2 * time.Second})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	s := settings.Settings{Env: "local", BaseURL: srv.URL, Host: srv.Host(), Keystore: "file", ConfigHome: t.TempDir()}
	if _, err := s.Start(t.Context(), nil); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Start with nothing stored: %v, want ErrNotLoggedIn", err)
	}
	human := newFromEnv(t, env(map[string]string{"PMX_ENV": "local", "PMX_BASE_URL": srv.URL, "PMX_HOST": srv.Host(),
		"PMX_KEYSTORE": "file", "XDG_CONFIG_HOME": s.ConfigHome}))
	if err := human.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	bot, err := s.Start(t.Context(), func(c *session.Config) { c.Margin = time.Second })
	if err != nil {
		t.Fatal(err)
	}
	first, err := bot.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls(traderapi.PathRefresh) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the started bot made no refresh in 10 s of 2 s tokens")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := bot.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := bot.Token(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Errorf("Token after Close = %v, want ErrClosed (first token %v)", err, first != "")
	}
}
