package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/tooltest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/traderapi"
)

// mapSecrets stands in for go-keyring: a map under a mutex, with
// go-keyring's not-found error, and an optional error for every call.
type mapSecrets struct {
	mu   sync.Mutex
	m    map[[2]string]string
	fail error
}

func newMapSecrets() *mapSecrets { return &mapSecrets{m: map[[2]string]string{}} }

func (s *mapSecrets) Get(service, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	v, ok := s.m[[2]string{service, user}]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return v, nil
}

func (s *mapSecrets) Set(service, user, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.m[[2]string{service, user}] = secret
	return nil
}

func (s *mapSecrets) Delete(service, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.m[[2]string{service, user}]; !ok {
		return gokeyring.ErrNotFound
	}
	delete(s.m, [2]string{service, user})
	return nil
}

// blockingSecrets never answers until released, like a Secret Service
// waiting on an unlock prompt.
type blockingSecrets struct{ release chan struct{} }

func (b blockingSecrets) Get(string, string) (string, error) {
	<-b.release
	return "", gokeyring.ErrNotFound
}
func (b blockingSecrets) Set(string, string, string) error { <-b.release; return nil }
func (b blockingSecrets) Delete(string, string) error      { <-b.release; return nil }

func TestKeyringServiceNames(t *testing.T) {
	t.Parallel()
	kc := newMapSecrets()
	k := New(withSecrets(kc), testLockDir(t))
	storehelp.MustSet(t, k, keystore.Key{Environment: "preprod", Username: "alice"}, storehelp.Record("", ""))
	storehelp.MustSet(t, k, keystore.Key{Environment: "preprod", Username: "alice", Item: keystore.ItemTOTP}, &keystore.Record{OTPAuthURL: storehelp.OTPURL})
	for _, want := range [][2]string{{"pmx-login:preprod", "alice"}, {"pmx-login:preprod:totp", "alice"}, {"pmx-login:preprod:last-user", "default"}} {
		if _, ok := kc.m[want]; !ok {
			t.Errorf("no keychain entry service=%q user=%q; have %v", want[0], want[1], kc.m)
		}
	}
	if got := kc.m[[2]string{"pmx-login:preprod:last-user", "default"}]; got != "alice" {
		t.Errorf("last user entry = %q, want alice", got)
	}
	r, err := keystore.Decode([]byte(kc.m[[2]string{"pmx-login:preprod", "alice"}]))
	if err != nil {
		t.Fatal(err)
	}
	storehelp.SameRecord(t, r, storehelp.Record("preprod", "alice"))

	// An entry holding another user's record is corrupt, not that user's.
	kc.m[[2]string{"pmx-login:preprod", "mallory"}] = kc.m[[2]string{"pmx-login:preprod", "alice"}]
	if _, err := k.Get(t.Context(), keystore.Key{Environment: "preprod", Username: "mallory"}); !errors.Is(err, keystore.ErrCorrupt) {
		t.Fatalf("Get of a misfiled record: %v, want ErrCorrupt", err)
	}
	kc.m[[2]string{"pmx-login:preprod", "bob"}] = "not json"
	if _, err := k.Get(t.Context(), keystore.Key{Environment: "preprod", Username: "bob"}); !errors.Is(err, keystore.ErrCorrupt) {
		t.Fatalf("Get of garbage: %v, want ErrCorrupt", err)
	}
}

func TestKeyringTimeout(t *testing.T) {
	t.Parallel()
	b := blockingSecrets{release: make(chan struct{})}
	t.Cleanup(func() { close(b.release) })
	k := New(withSecrets(b), testLockDir(t), WithTimeout(50*time.Millisecond))
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	ops := map[string]func(context.Context) error{
		"Get":      func(ctx context.Context) error { _, err := k.Get(ctx, key); return err },
		"Set":      func(ctx context.Context) error { return k.Set(ctx, key, storehelp.Record("", "")) },
		"Delete":   func(ctx context.Context) error { return k.Delete(ctx, key) },
		"LastUser": func(ctx context.Context) error { _, err := k.LastUser(ctx, "preprod"); return err },
	}
	for name, op := range ops {
		start := time.Now()
		err := op(t.Context())
		took := time.Since(start)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, keystore.ErrUnavailable) || errors.Is(err, ErrLocked) || errors.Is(err, keystore.ErrNotFound) {
			t.Fatalf("%s: got %v, want ErrTimeout", name, err)
		}
		// A write after another write timed out fails at once: that write
		// still holds the write lock until it returns.
		early := strings.Contains(err.Error(), "an earlier write to the keychain has not returned yet")
		if (took < 50*time.Millisecond && !early) || took > 2*time.Second {
			t.Errorf("%s took %s, want about the 50ms timeout", name, took)
		}
		if !strings.Contains(err.Error(), "no answer within 50ms") || strings.Contains(err.Error(), "--keystore") {
			t.Errorf("%s: message %q should say it timed out, with no CLI advice", name, err)
		}
	}

	// The caller's deadline passing while the keychain hangs is the
	// keychain's timeout too, named as such, and not a network deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := New(withSecrets(b), testLockDir(t), WithTimeout(time.Minute)).Get(ctx, key)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "keychain") || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Get past the caller's deadline: %v, want ErrTimeout naming the keychain", err)
	}

	// The caller's own cancellation is not a keychain failure.
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err = New(withSecrets(b), testLockDir(t), WithTimeout(time.Minute)).Get(ctx, key)
	if !errors.Is(err, context.Canceled) || errors.Is(err, keystore.ErrUnavailable) {
		t.Fatalf("cancelled Get: %v, want context.Canceled and not ErrUnavailable", err)
	}
}

func TestKeyringErrorsMapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    string
		reason error // nil: unavailable for another reason
	}{
		{`exec: "dbus-launch": executable file not found in $PATH`, ErrNoService},
		{"dial unix /nonexistent: connect: no such file or directory", ErrNoService},
		{"The name org.freedesktop.secrets was not provided by any .service files", ErrNoService},
		{"failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'", ErrLocked},
		{"failed to unlock correct collection '/org/freedesktop/secrets/collection/login'", ErrLocked},
		{"org.freedesktop.DBus.Error.NoReply: something else", nil},
	} {
		kc := newMapSecrets()
		kc.fail = errors.New(tc.err)
		err := New(withSecrets(kc), testLockDir(t)).Set(t.Context(), keystore.Key{Environment: "preprod", Username: "a"}, storehelp.Record("", ""))
		for _, sentinel := range []error{ErrNoService, ErrLocked, ErrTimeout} {
			if errors.Is(err, sentinel) != (sentinel == tc.reason) {
				t.Errorf("%q: got %v; errors.Is(%v) = %t", tc.err, err, sentinel, errors.Is(err, sentinel))
			}
		}
		if !errors.Is(err, keystore.ErrUnavailable) || errors.Is(err, keystore.ErrNotFound) || strings.Contains(err.Error(), "--keystore") {
			t.Errorf("%q: %v should match ErrUnavailable only, with no CLI advice", tc.err, err)
		}
	}
	kc := newMapSecrets()
	kc.fail = gokeyring.ErrSetDataTooBig
	err := New(withSecrets(kc), testLockDir(t)).Set(t.Context(), keystore.Key{Environment: "preprod", Username: "a"}, storehelp.Record("", ""))
	if !errors.Is(err, keystore.ErrTooLarge) {
		t.Errorf("ErrSetDataTooBig: got %v, want ErrTooLarge", err)
	}
	want := "keychain unavailable: no Secret Service is running (org.freedesktop.secrets)"
	if got := unavailable("", noService, nil).Error(); got != want {
		t.Errorf("message:\n got %q\nwant %q", got, want)
	}
}

func TestKeyringDropsAccessCacheWhenTooLarge(t *testing.T) {
	t.Parallel()
	kc := newMapSecrets()
	k := New(withSecrets(kc), testLockDir(t))
	k.goos = "windows"
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	r := storehelp.Record("preprod", "alice")
	r.AccessToken = traderapi.Secret(strings.Repeat("a", 2400))
	storehelp.MustSet(t, k, key, r)
	got := storehelp.MustGet(t, k, key)
	if !got.AccessToken.IsZero() || !got.AccessExpiry.IsZero() || got.RefreshToken != r.RefreshToken {
		t.Fatalf("stored %s: want the refresh token kept and the access cache dropped", got)
	}
	r.RefreshToken = traderapi.Secret(strings.Repeat("r", 2600))
	err := k.Set(t.Context(), key, r)
	if !errors.Is(err, keystore.ErrTooLarge) || !strings.Contains(err.Error(), "2560") || strings.Contains(err.Error(), "--keystore") {
		t.Fatalf("oversized record: %v, want ErrTooLarge naming the limit, with no CLI advice", err)
	}
	if got := storehelp.MustGet(t, k, key); got.RefreshToken != storehelp.Refresh {
		t.Fatal("a refused Set changed the stored record")
	}
}

// TestKeyringCompareAndSwapTooLarge writes a record whose access cache
// the keychain cannot hold: the caller's next compare-and-set, from the
// record it wrote, is not a conflict with itself.
func TestKeyringCompareAndSwapTooLarge(t *testing.T) {
	t.Parallel()
	k := New(withSecrets(newMapSecrets()), WithLockDir(filepath.Join(t.TempDir(), "locks")))
	k.goos = "windows"
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	r1 := storehelp.Generation("preprod", "alice", 1)
	r1.AccessToken = traderapi.Secret(strings.Repeat("a", 2400))
	if err := k.CompareAndSwap(t.Context(), key, nil, r1); err != nil {
		t.Fatal(err)
	}
	if err := k.CompareAndSwap(t.Context(), key, r1, storehelp.Generation("preprod", "alice", 2)); err != nil {
		t.Fatalf("CompareAndSwap from the record this caller wrote: %v", err)
	}
	if err := k.CompareAndDelete(t.Context(), key, storehelp.Generation("preprod", "alice", 2)); err != nil {
		t.Fatal(err)
	}
}

// testLockDir keeps a test's keyring lock files in its own directory.
func testLockDir(t *testing.T) Option {
	return WithLockDir(filepath.Join(t.TempDir(), "locks"))
}

// keyringHow says how to run the real-keychain tests.
const keyringHow = "run `dbus-run-session -- bash .ci/keyring-session.sh go test ./keystore/`"

// realKeyring skips the test unless a Secret Service answers, or fails it
// when PMX_KEYRING_TESTS=required (set by .ci/keyring-session.sh).
func realKeyring(t *testing.T) {
	t.Helper()
	required := os.Getenv("PMX_KEYRING_TESTS") == "required"
	if !required && runtime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		tooltest.Skip(t, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset)", keyringHow)
	}
	_, err := New(WithTimeout(5*time.Second)).LastUser(t.Context(), storehelp.UniqueEnv("probe"))
	switch {
	case errors.Is(err, keystore.ErrNotFound):
	case required:
		t.Fatalf("PMX_KEYRING_TESTS=required but the keychain does not answer: %v", err)
	default:
		tooltest.Skip(t, fmt.Sprintf("no usable keychain (%v)", err), keyringHow)
	}
}

// requireTools skips the test when a command is missing, or fails it when
// PMX_KEYRING_TESTS=required.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("PMX_KEYRING_TESTS") == "required" {
				t.Fatalf("PMX_KEYRING_TESTS=required but %s is not installed", n)
			}
			tooltest.Skip(t, n+" is not installed", "apt-get install dbus gnome-keyring libsecret-tools, then "+keyringHow)
		}
	}
}

// TestKeyringSecretToolReadsBack stores a session in the real keychain and
// reads it back with secret-tool, as another program would.
func TestKeyringSecretToolReadsBack(t *testing.T) {
	t.Parallel()
	realKeyring(t)
	requireTools(t, "secret-tool")
	k := New(testLockDir(t))
	env := storehelp.UniqueEnv("preprod")
	key := keystore.Key{Environment: env, Username: "alice@example.com"}
	storehelp.CleanupKeys(t, k, key)
	want := storehelp.Record(env, key.Username)
	storehelp.MustSet(t, k, key, want)
	out, err := exec.CommandContext(t.Context(), "secret-tool", "lookup", "service", "pmx-login:"+env, "username", key.Username).Output()
	if err != nil {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	got, err := keystore.Decode([]byte(strings.TrimSuffix(string(out), "\n")))
	if err != nil {
		t.Fatalf("decoding what secret-tool read: %v", err)
	}
	storehelp.SameRecord(t, got, want)
	out, err = exec.CommandContext(t.Context(), "secret-tool", "lookup", "service", "pmx-login:"+env+":last-user", "username", "default").Output()
	if err != nil || strings.TrimSpace(string(out)) != key.Username {
		t.Fatalf("last user via secret-tool: %q, %v", out, err)
	}
	if err := k.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := exec.CommandContext(t.Context(), "secret-tool", "lookup", "service", "pmx-login:"+env, "username", key.Username).Run(); err == nil {
		t.Fatal("secret-tool still finds the deleted session")
	}
}

// TestKeyringNoService runs a subprocess (godbus keeps its session bus per
// process) where no session bus can be reached.
func TestKeyringNoService(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service exists only on Linux and BSD")
	}
	for name, env := range map[string]map[string]string{
		"BadBusAddress": {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent", "PATH": t.TempDir()},
		"NoBusNoLauncher": {"DBUS_SESSION_BUS_ADDRESS": "", "DISPLAY": "", "XDG_RUNTIME_DIR": t.TempDir(),
			"PATH": t.TempDir()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env["PMX_EXPECT_REASON"] = noService.String()
			cmd := helperproc.Command(t, helperEnv, "unavailable", env)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "reason=no service") {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestKeyringLocked runs a subprocess under its own dbus-run-session with a
// gnome-keyring-daemon that was never unlocked, on fresh XDG dirs.
func TestKeyringLocked(t *testing.T) {
	t.Parallel()
	requireTools(t, "dbus-run-session", "gnome-keyring-daemon", "dbus-send")
	data, runtimeDir := t.TempDir(), t.TempDir()
	for _, d := range []string{data, runtimeDir} {
		if err := os.Chmod(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := helperproc.Command(t, helperEnv, "locked", map[string]string{
		"XDG_DATA_HOME": data, "XDG_RUNTIME_DIR": runtimeDir, "DISPLAY": "", "WAYLAND_DISPLAY": "",
		"DBUS_SESSION_BUS_ADDRESS": "",
	}, "dbus-run-session", "--")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reason=locked") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestKeyringSetWaitsForCompareAndSwap holds the environment's write lock
// as a compare-and-set between its read and its write would: a plain Set
// or Delete waits for it instead of slipping in between.
func TestKeyringSetWaitsForCompareAndSwap(t *testing.T) {
	t.Parallel()
	k := New(withSecrets(newMapSecrets()), testLockDir(t))
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	unlock, err := k.lockFile(t.Context(), keystore.Key{Environment: "preprod", Username: "bob"}, "write", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := k.Set(ctx, key, storehelp.Record("", "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set while a compare-and-set holds the lock: %v, want it to wait", err)
	}
	if err := k.Delete(ctx, key); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Delete while a compare-and-set holds the lock: %v, want it to wait", err)
	}
	unlock()
	storehelp.MustSet(t, k, key, storehelp.Record("", ""))
}

// TestReasonsAreDistinct: each sentinel matches its own reason only, and
// every unavailable error matches keystore.ErrUnavailable.
func TestReasonsAreDistinct(t *testing.T) {
	t.Parallel()
	sentinels := map[reason]error{noService: ErrNoService, locked: ErrLocked, timeout: ErrTimeout}
	for _, r := range []reason{other, noService, locked, timeout} {
		err := fmt.Errorf("wrapped: %w", unavailable("Secret Service", r, errors.New("cause")))
		if !errors.Is(err, keystore.ErrUnavailable) {
			t.Errorf("%s: does not match keystore.ErrUnavailable", r)
		}
		for sr, s := range sentinels {
			if errors.Is(err, s) != (sr == r) {
				t.Errorf("%s: errors.Is(%v) = %t", r, s, errors.Is(err, s))
			}
		}
	}
}
