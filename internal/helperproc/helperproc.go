// Package helperproc re-executes a test binary as a helper process, for
// the tests that need more than one process: the keystore backends' (locks
// across processes, one D-Bus connection per process) selected by an
// environment variable their TestMain reads ([Command], [Start]), and the
// session's bots, fleet processes and peers, each a TestHelper function
// that speaks in lines ([Test], [StartLines]), and the tests that need
// another user ([AsUser]).
package helperproc

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// Command returns a command that re-executes the test binary with
// selector=mode in its environment and env added to it (a key mapped to ""
// is removed), prefixed by argv (a wrapper such as dbus-run-session). The
// test binary's TestMain runs the mode when it sees selector set.
func Command(t *testing.T, selector, mode string, env map[string]string, argv ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := slices.Concat(argv, []string{self, "-test.run=^$"})
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	cmd.Env = []string{selector + "=" + mode}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok && k != selector {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	return cmd
}

// Cmd is a started helper process; its Buffer collects what it prints.
type Cmd struct {
	Buffer
	// Err is the process's exit error, set once Wait returns.
	Err  error
	done chan struct{}
}

// Output returns what the process has printed so far.
func (c *Cmd) Output() string { return c.String() }

// Start starts cmd, collecting its output; the test's end kills it.
func Start(t *testing.T, cmd *exec.Cmd) *Cmd {
	t.Helper()
	c := &Cmd{done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &c.Buffer, &c.Buffer
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.Err = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.done })
	return c
}

// Wait waits until the process has exited.
func (c *Cmd) Wait() { <-c.done }

// Done is closed when the process has exited.
func (c *Cmd) Done() <-chan struct{} { return c.done }

// Main is a TestMain for a package whose test binary is also its helper
// process: with selector set in the environment it runs that mode with
// run and exits (1, the error on stderr, when run fails); otherwise it
// runs the tests through tooltest.Main.
func Main(m *testing.M, selector string, run func(mode string) error) {
	if mode := os.Getenv(selector); mode != "" {
		if err := run(mode); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(tooltest.Main(m))
}
