package mfa

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"testing"
)

// toolSkips are the real-tool tests that skipped in this run, for the note
// TestMain prints: `go test ./...` shows nothing of a passing package, so
// a skipped real-tool test would go unnoticed (issue 12 item 11).
var toolSkips struct {
	mu    sync.Mutex
	notes map[string]string // test name: why and how to run it
}

// skipTool skips t because a real tool is missing, and remembers it.
func skipTool(t *testing.T, why, how string) {
	t.Helper()
	if os.Getenv("PMX_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s, and PMX_REQUIRE_TOOLS=1: to run it, %s", why, how)
	}
	toolSkips.mu.Lock()
	if toolSkips.notes == nil {
		toolSkips.notes = map[string]string{}
	}
	toolSkips.notes[t.Name()] = why + ": to run it, " + how
	toolSkips.mu.Unlock()
	t.Skipf("%s (set PMX_REQUIRE_TOOLS=1 to make this a failure): to run it, %s", why, how)
}

func TestMain(m *testing.M) {
	code := m.Run()
	writeSkipNote("github.com/pmx-login/pmx-login/mfa")
	os.Exit(code)
}

// writeSkipNote prints the skipped real-tool tests to the terminal (where
// go test does not hide it), else to stderr (shown with -v or a failure).
func writeSkipNote(pkg string) {
	toolSkips.mu.Lock()
	defer toolSkips.mu.Unlock()
	if len(toolSkips.notes) == 0 {
		return
	}
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	names := make([]string, 0, len(toolSkips.notes))
	for n := range toolSkips.notes {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s: %d real-tool test(s) skipped:\n", pkg, len(names))
	for _, n := range names {
		fmt.Fprintf(w, "  %s: %s\n", n, toolSkips.notes[n])
	}
}
