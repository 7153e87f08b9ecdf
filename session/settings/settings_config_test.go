package settings_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
)

// TestSettingsErrorsAreConfigMistakes: every settings sentinel is a
// configuration mistake for session.Classify.
func TestSettingsErrorsAreConfigMistakes(t *testing.T) {
	for _, err := range []error{settings.ErrUnknownEnvironment, settings.ErrUnknownKeystore, settings.ErrRedisSettings} {
		if !errors.Is(err, session.ErrConfig) || session.Classify(err) != session.KindConfig {
			t.Errorf("%v: Classify = %v, want config", err, session.Classify(err))
		}
	}
	_, err := settings.Settings{Env: "nowhere", Keystore: "memory"}.Config()
	if session.Classify(err) != session.KindConfig {
		t.Errorf("an unknown environment: %v is %v, want config", err, session.Classify(err))
	}
}

// TestConfigKeepsGenerationsBesideTheFileKeystore: a bot's manager refuses
// a rolled-back session as pmx-login does, from the same files; the memory
// keystore writes none.
func TestConfigKeepsGenerationsBesideTheFileKeystore(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("ConfigHome is used on Linux and the BSDs only")
	}
	home := t.TempDir()
	cfg, err := settings.Settings{Env: "prod", Keystore: "file", ConfigHome: home}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Generations == nil {
		t.Fatal("Config.Generations is nil for the file keystore")
	}
	if err := cfg.Generations.Saw("prod", "trader1", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "pmx-login", ".generations")); err != nil {
		t.Fatalf("no generations beside the file keystore: %v", err)
	}
	mem, err := settings.Settings{Env: "prod", Keystore: "memory", ConfigHome: home}.Config()
	if err != nil || mem.Generations != nil {
		t.Fatalf("memory keystore: Generations set %v, err %v", mem.Generations != nil, err)
	}
}
