package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/traderapi"
)

func newFile(t *testing.T) *Store {
	t.Helper()
	f, err := New(filepath.Join(t.TempDir(), "pmx-login"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wantMode fails unless path has exactly the permission bits want.
func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %04o, want %04o", path, got, want)
	}
}

// noTempFiles fails if a temporary file was left in d.
func noTempFiles(t *testing.T, d string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(d, securefs.TempPattern))
	if err != nil || len(names) != 0 {
		t.Fatalf("temporary files left in %s: %v %v", d, names, err)
	}
}

func TestFileLayoutAndPermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	f := newFile(t)
	storehelp.MustSet(t, f, keystore.Key{Environment: "preprod", Username: "alice"}, storehelp.Record("", ""))
	storehelp.MustSet(t, f, keystore.Key{Environment: "preprod", Username: "alice", Item: keystore.ItemTOTP}, &keystore.Record{OTPAuthURL: storehelp.OTPURL})
	env := filepath.Join(f.Dir(), "preprod")
	wantMode(t, f.Dir(), 0o700)
	wantMode(t, env, 0o700)
	for _, name := range []string{"alice.session.json", "alice.totp.json", "last-user"} {
		wantMode(t, filepath.Join(env, name), 0o600)
	}
	b, err := os.ReadFile(filepath.Join(env, "last-user"))
	if err != nil || string(b) != "alice\n" {
		t.Fatalf("last-user file: %q, %v", b, err)
	}
	noTempFiles(t, env)
}

func TestFileRefusesInsecurePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	path := filepath.Join(f.Dir(), "preprod", "alice.session.json")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := f.Get(t.Context(), k)
	if !errors.Is(err, keystore.ErrInsecure) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("Get of a 0644 file: %v, want ErrInsecure saying chmod 600 %s", err, path)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	storehelp.MustGet(t, f, k)

	env := filepath.Join(f.Dir(), "preprod")
	if err := os.Chmod(env, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(t.Context(), k); !errors.Is(err, keystore.ErrInsecure) || !strings.Contains(err.Error(), "chmod 700 "+env) {
		t.Fatalf("Get in a 0755 directory: %v, want ErrInsecure saying chmod 700", err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(open); !errors.Is(err, keystore.ErrInsecure) {
		t.Fatalf("New on a 0755 directory: %v, want ErrInsecure", err)
	}
}

func TestFileRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, keystore.Key{Environment: "preprod", Username: "bob"}, storehelp.Record("", ""))
	env := filepath.Join(f.Dir(), "preprod")
	if err := os.Symlink(filepath.Join(env, "bob.session.json"), filepath.Join(env, "alice.session.json")); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if _, err := f.Get(t.Context(), k); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Get through a symlink: %v, want a refusal", err)
	}
}

func TestFileUsernamesCannotEscape(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	users := []string{"../../escape", "..", ".", "a/b", `a\b`, "a%2Fb", ".hidden", "a.session", "Ünïcode", "x y", strings.Repeat("é", 120)}
	for i, u := range users {
		r := storehelp.Record("", "")
		r.RefreshToken = traderapi.Secret("rt-" + strconv.Itoa(i))
		storehelp.MustSet(t, f, keystore.Key{Environment: "preprod", Username: u}, r)
	}
	for i, u := range users {
		got := storehelp.MustGet(t, f, keystore.Key{Environment: "preprod", Username: u})
		if got.Username != u || got.RefreshToken.Reveal() != "rt-"+strconv.Itoa(i) {
			t.Fatalf("user %q read back %q with token %q", u, got.Username, got.RefreshToken.Reveal())
		}
	}
	// Everything stayed inside <dir>/preprod, one file per user plus
	// last-user and the lock.
	var files []string
	err := filepath.Walk(filepath.Dir(f.Dir()), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(f.Dir(), "preprod") + string(filepath.Separator)
	for _, p := range files {
		if !strings.HasPrefix(p, env) || strings.Count(p[len(env):], string(filepath.Separator)) != 0 {
			t.Errorf("file outside %s: %s", env, p)
		}
		if len(filepath.Base(p)) > 255 {
			t.Errorf("file name over 255 bytes: %s", p)
		}
	}
	if want := len(users) + 2; len(files) != want {
		t.Errorf("%d files, want %d: %v", len(files), want, files)
	}
	if got := securefs.EscapeUser("a.b/c%"); got != "a%2Eb%2Fc%25" {
		t.Errorf("EscapeUser = %q", got)
	}
}

func TestFileAtomicWritesLeaveNoTempFiles(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	env := filepath.Join(f.Dir(), "preprod")
	// A writer killed before its rename leaves a temporary file behind:
	// the next write under the lock removes it.
	stale := filepath.Join(env, ".tmp-12345")
	if err := os.WriteFile(stale, []byte("half a rec"), 0o600); err != nil {
		t.Fatal(err)
	}
	storehelp.SameRecord(t, storehelp.MustGet(t, f, k), storehelp.Record("preprod", "alice"))
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	noTempFiles(t, env)
}

func TestFileLockWaitIsBounded(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no file locks on " + runtime.GOOS)
	}
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	storehelp.MustSet(t, f, k, storehelp.Record("", ""))
	unlock, err := securefs.LockDir(t.Context(), filepath.Join(f.Dir(), "preprod"), true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	f.lockWait = 50 * time.Millisecond
	start := time.Now()
	if _, err := f.Get(t.Context(), k); err == nil || !strings.Contains(err.Error(), "held the lock") {
		t.Fatalf("Get while another holds the lock: %v, want a lock timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("lock wait took %s", took)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f.lockWait = time.Minute
	if err := f.Set(ctx, k, storehelp.Record("", "")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with a cancelled context: %v", err)
	}
}

func TestDefaultDirFollowsXDGConfigHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(base, "pmx-login")
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
		want = filepath.Join(dir, "pmx-login")
	}
	if got != want {
		t.Fatalf("DefaultDir() = %q, want %q", got, want)
	}
	s, err := New(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != "file" || s.Dir() != want {
		t.Fatalf("New(DefaultDir()) = %s in %s, want file in %s", s.Backend(), s.Dir(), want)
	}
}
