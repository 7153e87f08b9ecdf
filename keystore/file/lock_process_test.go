package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
)

// lockStore opens the store whose Lock a process test exercises: the file
// backend in dir, or the keyring backend with its lock files in dir (the
// lock never touches the keychain).
func lockStore(backend, dir string) (keystore.Store, error) {
	if backend == "keyring" {
		return keyring.New(keyring.WithLockDir(dir)), nil
	}
	return New(dir)
}

// lockKey is the key the processes of TestLockTwoProcesses contend for.
var lockKey = keystore.Key{Environment: "preprod", Username: "shared"}

// countUnderLock is the helper process of TestLockTwoProcesses: n times,
// take the lock, read the counter file, write it back plus one. Without
// mutual exclusion between processes, increments are lost.
func countUnderLock(ctx context.Context, backend, dir, counter string, n int) error {
	s, err := lockStore(backend, dir)
	if err != nil {
		return err
	}
	for i := range n {
		unlock, err := s.Lock(ctx, lockKey)
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		err = increment(counter)
		unlock()
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
	}
	return nil
}

// increment adds one to the number in the file at path (absent: 0),
// reading and writing in two steps so that a race loses an increment.
func increment(path string) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return os.WriteFile(path, []byte(strconv.Itoa(v+1)), 0o600)
}

// holdLock is the helper process that takes the lock, says so on stdout
// and keeps it until its stdin is closed.
func holdLock(ctx context.Context, backend, dir string) error {
	s, err := lockStore(backend, dir)
	if err != nil {
		return err
	}
	unlock, err := s.Lock(ctx, lockKey)
	if err != nil {
		return err
	}
	defer unlock()
	fmt.Println("locked")
	_, _ = os.Stdin.Read(make([]byte, 1))
	return nil
}

// TestLockTwoProcesses runs two processes (the test binary re-executed)
// that increment a counter file under Lock, for the file backend and for
// the keyring backend's lock file: no increment may be lost.
func TestLockTwoProcesses(t *testing.T) {
	t.Parallel()
	const rounds = 150
	for _, backend := range []string{"file", "keyring"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "store")
			if _, err := lockStore(backend, dir); err != nil {
				t.Fatal(err)
			}
			counter := filepath.Join(t.TempDir(), "counter")
			env := map[string]string{"PMX_LOCK_BACKEND": backend, "PMX_LOCK_DIR": dir,
				"PMX_COUNTER_FILE": counter, "PMX_COUNTER_N": strconv.Itoa(rounds)}
			a := helperproc.Start(t, helperproc.Command(t, helperEnv, "counter", env))
			b := helperproc.Start(t, helperproc.Command(t, helperEnv, "counter", env))
			for _, c := range []*helperproc.Cmd{a, b} {
				c.Wait()
				if c.Err != nil {
					t.Fatalf("helper: %v\n%s", c.Err, c.Output())
				}
			}
			got, err := os.ReadFile(counter)
			if err != nil || strings.TrimSpace(string(got)) != strconv.Itoa(2*rounds) {
				t.Fatalf("counter = %q (%v), want %d: increments were lost", got, err, 2*rounds)
			}
		})
	}
}

// TestLockHeldByAnotherProcess has another process hold the lock: a
// waiter here gives up when its ctx ends, and takes the lock once the
// holder releases it.
func TestLockHeldByAnotherProcess(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"file", "keyring"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "store")
			s, err := lockStore(backend, dir)
			if err != nil {
				t.Fatal(err)
			}
			cmd := helperproc.Command(t, helperEnv, "hold", map[string]string{"PMX_LOCK_BACKEND": backend, "PMX_LOCK_DIR": dir})
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			h := helperproc.Start(t, cmd)
			waitOutput(t, h, "locked")
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if _, err := s.Lock(ctx, lockKey); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock held by another process: %v, want context.DeadlineExceeded", err)
			}
			_ = stdin.Close()
			unlock, err := s.Lock(t.Context(), lockKey)
			if err != nil {
				t.Fatalf("Lock after the other process released it: %v", err)
			}
			unlock()
			h.Wait()
			if h.Err != nil {
				t.Fatalf("holder: %v\n%s", h.Err, h.Output())
			}
		})
	}
}

// waitOutput waits (generously) until c has printed want.
func waitOutput(t *testing.T, c *helperproc.Cmd, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.Done():
			t.Fatalf("helper exited before printing %q: %v\n%s", want, c.Err, c.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if c.Output() != "" && strings.Contains(c.Output(), want) {
			return
		}
	}
	t.Fatalf("helper did not print %q in 30s", want)
}
