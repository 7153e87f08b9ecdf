package isv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestKeyFileReadIsCapped: a key file over MaxKeyFileSize is refused after
// reading at most that much, naming the file and the limit: /dev/zero
// does not run the process out of memory.
func TestKeyFileReadIsCapped(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.pem")
	pem, err := os.ReadFile(filepath.Join("testdata", "client-pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	// A valid key followed by junk: the size alone is refused.
	if err := os.WriteFile(big, append(pem, make([]byte, 4<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	paths := []string{big}
	if runtime.GOOS != "windows" {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		_, err := LoadPrivateKeyFile(p)
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "64 KiB") {
			t.Errorf("%s: %v, want ErrBadKey naming the file and the 64 KiB limit", p, err)
		}
	}
	if _, err := LoadPrivateKeyFile(filepath.Join("testdata", "client-pkcs8.pem")); err != nil {
		t.Fatalf("a normal key: %v", err)
	}
}
