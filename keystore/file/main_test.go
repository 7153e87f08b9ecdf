package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// helperEnv selects a helper mode when the test binary is re-executed as a
// subprocess: separate processes are needed for cross-process locking and
// because godbus keeps one session bus connection per process.
const helperEnv = "PMX_KEYSTORE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(tooltest.Main(m))
}

// runHelper runs one helper mode; its result is the exit status and output.
func runHelper(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch mode {
	case "hammer":
		n, _ := strconv.Atoi(os.Getenv("PMX_HAMMER_N"))
		return hammer(ctx, os.Getenv("PMX_HAMMER_DIR"), os.Getenv("PMX_HAMMER_ID"), n)
	case "counter":
		n, _ := strconv.Atoi(os.Getenv("PMX_COUNTER_N"))
		return countUnderLock(ctx, os.Getenv("PMX_LOCK_BACKEND"), os.Getenv("PMX_LOCK_DIR"), os.Getenv("PMX_COUNTER_FILE"), n)
	case "hold":
		return holdLock(ctx, os.Getenv("PMX_LOCK_BACKEND"), os.Getenv("PMX_LOCK_DIR"))
	case "readonly":
		return readOnlyCheck(os.Getenv("PMX_RO_DIR"))
	case "unavailable":
		return expectUnavailable(ctx, os.Getenv("PMX_EXPECT_REASON"))
	case "locked":
		stop, err := startLockedDaemon(ctx)
		if err != nil {
			return err
		}
		defer stop()
		return expectUnavailable(ctx, Locked.String())
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// expectUnavailable stores a session in the OS keychain and checks that it
// fails with an *keystore.UnavailableError of the given reason, printing the error.
func expectUnavailable(ctx context.Context, reason string) error {
	locks, err := os.MkdirTemp("", "pmx-keystore-locks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(locks)
	k := NewKeyring(WithServicePrefix("pmx-login-test"), WithTimeout(10*time.Second), WithLockDir(locks))
	start := time.Now()
	err = k.Set(ctx, keystore.Key{Environment: "preprod", Username: "alice"}, testRecord("preprod", "alice"))
	fmt.Printf("took=%s error=%v\n", time.Since(start).Round(time.Millisecond), err)
	var ue *keystore.UnavailableError
	switch {
	case !errors.As(err, &ue):
		return fmt.Errorf("want *keystore.UnavailableError, got %T: %v", err, err)
	case !errors.Is(err, keystore.ErrUnavailable) || errors.Is(err, keystore.ErrNotFound):
		return fmt.Errorf("error %v: errors.Is(keystore.ErrUnavailable) should hold and errors.Is(keystore.ErrNotFound) not", err)
	case ue.Reason.String() != reason:
		return fmt.Errorf("reason %q, want %q (error: %v)", ue.Reason, reason, err)
	case strings.Contains(err.Error(), "--keystore"):
		return fmt.Errorf("a library error gives CLI advice: %v", err)
	}
	fmt.Printf("reason=%s\n", ue.Reason)
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

// runHelperProcess re-executes the test binary in a helper mode with env
// added to (or, for keys mapped to "", removed from) the environment.
func runHelperProcess(t *testing.T, mode string, env map[string]string, argv ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := slices.Concat(argv, []string{self, "-test.run=^$"})
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	cmd.Env = []string{helperEnv + "=" + mode}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok && k != helperEnv {
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

// runningCmd is a started helper process.
type runningCmd struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	err  error
	done chan struct{}
}

// Write collects the process's output.
func (c *runningCmd) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// output returns what the process has printed so far.
func (c *runningCmd) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// startCmd starts cmd, collecting its output; the test's end kills it.
func startCmd(t *testing.T, cmd *exec.Cmd) *runningCmd {
	t.Helper()
	c := &runningCmd{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c, c
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.done })
	return c
}

// wait waits until the process has exited.
func (c *runningCmd) wait() { <-c.done }
