package cli

import (
	"github.com/pmx-login/pmx-login/internal/tooltest"

	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// sharedBinary is the pmx-login binary built once for every test of the
// package that runs it as a subprocess; TestMain removes it.
var sharedBinary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := tooltest.Main(m)
	if sharedBinary.dir != "" {
		_ = os.RemoveAll(sharedBinary.dir)
	}
	os.Exit(code)
}

// pmxBinary returns the path of cmd/pmx-login built once for the whole test
// binary (the same build as buildBinary's, shared: the leak audit and the
// crash test run it hundreds of times).
func pmxBinary(t testing.TB) string {
	t.Helper()
	sharedBinary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			sharedBinary.err = fmt.Errorf("the go tool is not on PATH (go test puts it there): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "pmx-login-test-bin-")
		if err != nil {
			sharedBinary.err = err
			return
		}
		sharedBinary.dir = dir
		bin := filepath.Join(dir, "pmx-login")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/pmx-login/pmx-login/cmd/pmx-login")
		if out, err := cmd.CombinedOutput(); err != nil {
			sharedBinary.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		sharedBinary.path = bin
	})
	if sharedBinary.err != nil {
		t.Fatal(sharedBinary.err)
	}
	return sharedBinary.path
}
