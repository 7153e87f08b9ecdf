package redis

import (
	"fmt"
	"os"
	"testing"

	"github.com/pmx-login/pmx-login/internal/helperproc"
)

// helperEnv selects a helper mode when the test binary is re-executed as
// another process (keyfile_unix_test.go runs one as another user).
const helperEnv = "PMX_REDIS_TEST_HELPER"

func TestMain(m *testing.M) { helperproc.Main(m, helperEnv, runHelper) }

// runHelper runs one helper mode on the key file PMX_REDIS_TEST_KEY_FILE:
// "plant" writes a new key there and loads it back; "load" loads it.
func runHelper(mode string) error {
	path := os.Getenv("PMX_REDIS_TEST_KEY_FILE")
	switch mode {
	case "plant":
		if _, err := WriteKeyFile(path); err != nil {
			return err
		}
		_, err := LoadKeyFile(path)
		return err
	case "load":
		_, err := LoadKeyFile(path)
		return err
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}
