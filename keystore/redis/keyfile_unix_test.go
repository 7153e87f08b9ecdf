//go:build unix

package redis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
)

// TestKeyFileFIFOIsRefusedAtOnce: a FIFO at the key path (which would
// block an open forever) is refused within a deadline, as not a regular
// file.
func TestKeyFileFIFOIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "redis.key")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadKeyFile(path); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, keystore.ErrInsecure) {
			t.Fatalf("LoadKeyFile(FIFO) = %v, want ErrInsecure (not a regular file)", err)
		}
	case <-time.After(10 * time.Second):
		f, _ := os.OpenFile(path, os.O_WRONLY, 0) // unblock the reader
		f.Close()
		t.Fatal("LoadKeyFile blocked on a FIFO")
	}
}

// TestKeyFileOwnedByAnotherUserIsRefused: another user (uid 4242, a
// re-executed test binary running as that user) plants a key file in a
// directory both can write, and can use it itself; root refuses it. The
// other user cannot read root's key file, and root's own is accepted.
func TestKeyFileOwnedByAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	const other = 4242
	dir := sharedDir(t)
	planted := filepath.Join(dir, "planted.key")
	if out, err := asUser(t, dir, other, "plant", planted); err != nil {
		t.Fatalf("uid %d planting and loading its own key file: %v\n%s", other, err, out)
	}
	if fi, err := os.Stat(planted); err != nil || fi.Sys().(*syscall.Stat_t).Uid != other {
		t.Fatalf("the planted file: %v, want it owned by uid %d", err, other)
	}
	if _, err := LoadKeyFile(planted); !errors.Is(err, keystore.ErrInsecure) || !strings.Contains(err.Error(), "planted.key") {
		t.Fatalf("root loading a key file uid %d planted: %v, want ErrInsecure naming it", other, err)
	}
	mine := filepath.Join(dir, "root.key")
	if _, err := WriteKeyFile(mine); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(mine); err != nil {
		t.Fatalf("root's own key file: %v", err)
	}
	if out, err := asUser(t, dir, other, "load", mine); err == nil || !strings.Contains(out, "cannot be accessed") {
		t.Fatalf("uid %d loading root's key file: %v %s, want it refused", other, err, out)
	}
}

// sharedDir is a directory every user can write to (sticky, like /tmp).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pmx-keyowner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// asUser runs the helper mode on path as uid, from a copy of the test
// binary in dir.
func asUser(t *testing.T, dir string, uid uint32, mode, path string) (string, error) {
	t.Helper()
	env := []string{helperEnv + "=" + mode, "PMX_REDIS_TEST_KEY_FILE=" + path, "PATH=/usr/bin:/bin"}
	cmd := helperproc.AsUser(t, dir, uid, uid, env, "-test.run=^$")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
