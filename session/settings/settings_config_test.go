package settings_test

import (
	"errors"
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
