//go:build unix

package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// TestFileRefusesSymlinkedLock plants .lock as a symbolic link to a file
// elsewhere: no operation may create or open the target.
func TestFileRefusesSymlinkedLock(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	env := filepath.Join(f.Dir(), "preprod")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Remove(filepath.Join(env, ".lock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(env, ".lock")); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"Get":  func() error { _, err := f.Get(t.Context(), k); return err },
		"Set":  func() error { return f.Set(t.Context(), k, storehelp.Record("", "")) },
		"Lock": func() error { _, err := securefs.LockDir(t.Context(), env, true, defaultLockWait); return err },
	} {
		err := op()
		if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), filepath.Join(env, ".lock")) {
			t.Errorf("%s with a symlinked .lock: %v, want a refusal naming the link", name, err)
		}
	}
	if _, err := os.Lstat(victim); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the symlink's target was created: %v", err)
	}
}

// nobody is the uid and gid of a user other than root that owns nothing.
const nobody = 65534

// TestFileRefusesForeignOwner gives the session directory, an environment
// directory and a record file to another user: each is refused, naming the
// path and the owner. Only root can give files away.
func TestFileRefusesForeignOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root can make a file owned by another user; run as root to test the owner check")
	}
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	for _, tc := range []struct{ name, path string }{
		{"SessionDir", "."}, {"EnvDir", "preprod"}, {"Record", "preprod/alice.session.json"},
		{"LastUser", "preprod/last-user"}, {"LockFile", "preprod/.lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFile(t)
			storehelp.MustSet(t, f, k, storehelp.Record("", ""))
			p := filepath.Join(f.Dir(), tc.path)
			if err := os.Lchown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			_, errNew := New(f.Dir())
			_, errGet := f.Get(t.Context(), k)
			_, errLast := f.LastUser(t.Context(), "preprod")
			errSet := f.Set(t.Context(), k, storehelp.Record("", ""))
			err := errors.Join(errNew, errGet, errLast, errSet)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "owned by uid 65534") {
				t.Fatalf("%s owned by another user: %v, want a refusal naming it", p, err)
			}
			for _, e := range []error{errGet, errLast, errSet} {
				if tc.path == "preprod/last-user" && e == errGet {
					continue // Get does not read the last user
				}
				if tc.path == "preprod/alice.session.json" && e == errLast {
					continue
				}
				if tc.path != "." && e == nil {
					t.Errorf("an operation accepted %s owned by another user", p)
				}
			}
			if errNew != nil && tc.path == "." && !strings.Contains(errNew.Error(), "chown") {
				t.Errorf("New: %v, want it to say what to do", errNew)
			}
		})
	}
}

// TestFileReadOnly makes the environment directory read-only for the user
// that reads it, as a mounted secret is: Get and LastUser work, with or
// without a lock file, and a write fails. chmod does not stop root, so as
// root the reader is this test binary re-executed as another user (nobody)
// that owns a 0500 tree: a real read-only directory, not a simulation.
func TestFileReadOnly(t *testing.T) {
	t.Parallel()
	for _, withLock := range []bool{true, false} {
		t.Run(fmt.Sprintf("LockFile=%v", withLock), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// t.TempDir's parent and dir are 0700: let the reader in.
			for _, d := range []string{filepath.Dir(dir), dir} {
				if err := os.Chmod(d, 0o711); err != nil {
					t.Fatal(err)
				}
			}
			f, err := New(filepath.Join(dir, "pmx-login"))
			if err != nil {
				t.Fatal(err)
			}
			k := keystore.Key{Environment: "preprod", Username: "alice"}
			storehelp.MustSet(t, f, k, storehelp.Record("", ""))
			env := filepath.Join(f.Dir(), "preprod")
			if !withLock {
				if err := os.Remove(filepath.Join(env, ".lock")); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { _ = os.Chmod(env, 0o700) })
			if os.Geteuid() != 0 {
				if err := os.Chmod(env, 0o500); err != nil {
					t.Fatal(err)
				}
				if err := readOnlyCheck(f.Dir()); err != nil {
					t.Fatal(err)
				}
				return
			}
			out, err := runAsNobody(t, dir, f.Dir())
			if err != nil || !strings.Contains(out, "read-only ok") {
				t.Fatalf("reader as nobody: %v\n%s", err, out)
			}
		})
	}
}

// runAsNobody gives the tree under store to nobody with directories 0500,
// copies the test binary where nobody can run it, and runs the "readonly"
// helper mode on store as nobody.
func runAsNobody(t *testing.T, base, store string) (string, error) {
	t.Helper()
	err := filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, nobody, nobody); err != nil {
			return err
		}
		switch {
		case d.IsDir() && p != store:
			return os.Chmod(p, 0o500)
		case !d.IsDir():
			return os.Chmod(p, 0o400)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := base; p != "/" && p != "."; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by others: the reader cannot reach the store", p)
		}
	}
	cmd := helperproc.AsUser(t, base, nobody, nobody, append(os.Environ(), helperEnv+"=readonly", "PMX_RO_DIR="+store), "-test.run=^$")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestFileRefusesFIFOLock plants .lock as a FIFO: refused at once, never
// waited on.
func TestFileRefusesFIFOLock(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	lock := filepath.Join(f.Dir(), "preprod", ".lock")
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(lock, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	for _, exclusive := range []bool{false, true} {
		_, err := securefs.LockDir(t.Context(), filepath.Dir(lock), exclusive, defaultLockWait)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("lock (exclusive %v) on a FIFO: %v, want a refusal", exclusive, err)
		}
	}
}
