package helperproc

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a buffer a running process writes while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Test returns a command that re-executes the test binary to run only the
// test function name (a helper such as TestHelperBot, which does nothing
// unless its environment says so), with env added to the environment. It
// is killed when the test ends.
func Test(t testing.TB, name string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+name+"$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// LineProc is a started helper process that speaks in lines: the test
// writes to Stdin, and reads from Lines every line of its stdout that
// began with the prefix (the prefix cut off), so that a test's own log
// lines are not taken for answers. Log holds all it printed.
type LineProc struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser
	Lines <-chan string // closed at the end of its stdout
	Log   *Buffer
}

// StartLines starts cmd as a LineProc. The test's end closes its stdin
// and waits for it.
func StartLines(t testing.TB, cmd *exec.Cmd, prefix string) *LineProc {
	t.Helper()
	lines := make(chan string, 1000)
	p := &LineProc{Cmd: cmd, Lines: lines, Log: &Buffer{}}
	var err error
	if p.Stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.Log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.Log.Write([]byte(line + "\n"))
			if ev, ok := strings.CutPrefix(line, prefix); ok {
				lines <- ev
			}
		}
	}()
	t.Cleanup(func() { _ = p.Stdin.Close(); _ = cmd.Wait() })
	return p
}
