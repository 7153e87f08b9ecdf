package mfa

import (
	"os"
	"testing"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// skipTool skips t because a real tool is missing, or fails it with
// PMX_REQUIRE_TOOLS=1; TestMain lists the skipped tests at the end.
func skipTool(t *testing.T, why, how string) {
	t.Helper()
	tooltest.Skip(t, why, how)
}

func TestMain(m *testing.M) { os.Exit(tooltest.Main(m)) }
