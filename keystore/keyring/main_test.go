package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// helperEnv selects a helper mode when the test binary is re-executed as a
// subprocess: separate processes are needed for cross-process locking and
// because godbus keeps one session bus connection per process.
const helperEnv = "PMX_KEYSTORE_TEST_HELPER"

func TestMain(m *testing.M) { helperproc.Main(m, helperEnv, runHelper) }

// runHelper runs one helper mode; its result is the exit status and output.
func runHelper(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch mode {
	case "unavailable":
		return expectUnavailable(ctx, os.Getenv("PMX_EXPECT_REASON"))
	case "locked":
		stop, err := startLockedDaemon(ctx)
		if err != nil {
			return err
		}
		defer stop()
		return expectUnavailable(ctx, locked.String())
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// expectUnavailable stores a session in the OS keychain and checks that it
// fails as unavailable for the given reason, printing the error.
func expectUnavailable(ctx context.Context, reason string) error {
	locks, err := os.MkdirTemp("", "pmx-keystore-locks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(locks)
	k := New(WithServicePrefix("pmx-login-test"), WithTimeout(10*time.Second), WithLockDir(locks))
	start := time.Now()
	err = k.Set(ctx, keystore.Key{Environment: "preprod", Username: "alice"}, storehelp.Record("preprod", "alice"))
	fmt.Printf("took=%s error=%v\n", time.Since(start).Round(time.Millisecond), err)
	ue, ok := errors.AsType[*unavailableError](err)
	switch {
	case !ok:
		return fmt.Errorf("want an unavailable keychain, got %T: %v", err, err)
	case !errors.Is(err, keystore.ErrUnavailable) || errors.Is(err, keystore.ErrNotFound):
		return fmt.Errorf("error %v: errors.Is(ErrUnavailable) should hold and errors.Is(ErrNotFound) not", err)
	case ue.reason.String() != reason:
		return fmt.Errorf("reason %q, want %q (error: %v)", ue.reason, reason, err)
	case strings.Contains(err.Error(), "--keystore"):
		return fmt.Errorf("a library error gives CLI advice: %v", err)
	}
	fmt.Printf("reason=%s\n", ue.reason)
	return nil
}

// startLockedDaemon starts gnome-keyring-daemon without unlocking it (the
// caller runs under its own dbus-run-session with fresh XDG dirs) and
// waits until it owns org.freedesktop.secrets.
func startLockedDaemon(ctx context.Context) (stop func(), err error) {
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--components=secrets")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if err := waitForSecretService(ctx, 5*time.Second); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitForSecretService polls the session bus until org.freedesktop.secrets
// has an owner.
func waitForSecretService(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		out, _ := exec.CommandContext(ctx, "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
			"/", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets").Output()
		if strings.Contains(string(out), "boolean true") {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("org.freedesktop.secrets has no owner after %s", limit)
}

// String names a reason, as the helper processes print and expect it.
func (r reason) String() string {
	return [...]string{"other", "no service", "locked", "timeout"}[r]
}
