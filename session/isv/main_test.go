package isv

import (
	"os"
	"testing"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// TestMain lists the real-tool tests (oidc-provider, Redis) that skipped at
// the end of the run.
func TestMain(m *testing.M) { os.Exit(tooltest.Main(m)) }
