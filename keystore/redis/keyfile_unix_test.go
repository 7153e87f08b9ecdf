//go:build unix

package redis

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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

// TestKeyFileOwnedByAnotherUserIsRefused: a key file that another user
// planted (owned by uid 4242) is refused, even when root reads it; one
// owned by root is accepted.
func TestKeyFileOwnedByAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown the file to another user")
	}
	path := filepath.Join(t.TempDir(), "redis.key")
	if _, err := WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err != nil {
		t.Fatalf("root's own key file: %v", err)
	}
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); !errors.Is(err, keystore.ErrInsecure) {
		t.Fatalf("a key file owned by uid 4242, read by root: %v, want ErrInsecure", err)
	}
}
