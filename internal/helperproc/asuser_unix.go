//go:build unix

package helperproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// AsUser returns a command that runs the test binary with args as uid and
// gid, with env as its whole environment. go test builds the binary in a
// directory only its owner may enter, so it runs from a copy in dir, which
// the user must be able to reach. The test's end kills it.
func AsUser(t testing.TB, dir string, uid, gid uint32, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), copyBinary(t, dir), args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// copyBinary copies the test binary into a new file in dir, mode 0755, and
// returns its path. cp writes the copy, not this process: a process that
// another test forks while this one holds the copy open for writing would
// inherit that descriptor, and exec of the copy would then fail with "text
// file busy" until it exits.
func copyBinary(t testing.TB, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(self)+"-*")
	if err != nil {
		t.Fatal(err)
	}
	bin := f.Name()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", self, bin).CombinedOutput(); err != nil {
		t.Fatalf("copying the test binary: %v\n%s", err, out)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
