package file

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
)

// helperEnv selects a helper mode when the test binary is re-executed as a
// subprocess: separate processes are needed for cross-process locking and
// because godbus keeps one session bus connection per process.
const helperEnv = "PMX_KEYSTORE_TEST_HELPER"

func TestMain(m *testing.M) { helperproc.Main(m, helperEnv, runHelper) }

// runHelper runs one helper mode; its result is the exit status and output.
func runHelper(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch mode {
	case "hammer":
		n, _ := strconv.Atoi(os.Getenv("PMX_HAMMER_N"))
		return hammer(ctx, os.Getenv("PMX_HAMMER_DIR"), os.Getenv("PMX_HAMMER_ID"), n)
	case "counter":
		n, _ := strconv.Atoi(os.Getenv("PMX_COUNTER_N"))
		return countUnderLock(ctx, os.Getenv("PMX_LOCK_BACKEND"), os.Getenv("PMX_LOCK_DIR"), os.Getenv("PMX_COUNTER_FILE"), n)
	case "hold":
		return holdLock(ctx, os.Getenv("PMX_LOCK_BACKEND"), os.Getenv("PMX_LOCK_DIR"))
	case "readonly":
		return readOnlyCheck(os.Getenv("PMX_RO_DIR"))
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}
