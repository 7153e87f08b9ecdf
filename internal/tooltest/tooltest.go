// Package tooltest is for tests that need a real tool (a Secret Service,
// redis-server, oathtool, zbarimg, oidc-provider, curl, a pseudo-terminal):
// [Skip] skips such a test when the tool is missing, or fails it when
// PMX_REQUIRE_TOOLS=1 (as in CI), and [Main] lists the tests it skipped at
// the end of the package's run. go test shows nothing of a passing
// package, so without the list a skipped real-tool test would go unnoticed.
package tooltest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// EnvRequire makes a missing tool a failure instead of a skip.
const EnvRequire = "PMX_REQUIRE_TOOLS"

// skipped are the tests Skip skipped in this test binary.
var skipped struct {
	mu    sync.Mutex
	notes map[string]string // test name: why, and how to run it
}

// Skip skips t because a real tool is missing (why), saying how to run it,
// and remembers it for [Main]'s list; with PMX_REQUIRE_TOOLS=1 it fails t.
func Skip(t testing.TB, why, how string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s, and %s=1: to run it, %s", why, EnvRequire, how)
	}
	skipped.mu.Lock()
	if skipped.notes == nil {
		skipped.notes = map[string]string{}
	}
	skipped.notes[t.Name()] = why + ": to run it, " + how
	skipped.mu.Unlock()
	t.Skipf("%s (set %s=1 to make this a failure): to run it, %s", why, EnvRequire, how)
}

// Main runs the tests and then prints the real-tool tests that were
// skipped, to the terminal where there is one (go test does not hide it)
// and else to stderr (shown with -v or a failure). It returns m.Run's code:
// call it as os.Exit(tooltest.Main(m)) from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	writeNote(w, strings.TrimSuffix(filepath.Base(os.Args[0]), ".test"))
	return code
}

// writeNote writes the list of skipped tests, if any, to w.
func writeNote(w io.Writer, pkg string) {
	skipped.mu.Lock()
	defer skipped.mu.Unlock()
	if len(skipped.notes) == 0 {
		return
	}
	names := make([]string, 0, len(skipped.notes))
	for n := range skipped.notes {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s: %d real-tool test(s) skipped:\n", pkg, len(names))
	for _, n := range names {
		fmt.Fprintf(w, "  %s: %s\n", n, skipped.notes[n])
	}
}
