package redis

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
)

func TestWriteAndLoadKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "redis.key")
	written, err := WriteKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(b), "\n"))
	if err != nil || len(raw) != 32 || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("key file is not one line of base64 of 32 bytes: %d bytes, %v", len(raw), err)
	}
	loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID() != written.ID() || loaded.source != path {
		t.Errorf("loaded %v, wrote %v", loaded, written)
	}
	if printed := fmt.Sprintf("%v %+v %s", loaded, loaded, loaded); strings.Contains(printed, strings.TrimSpace(string(b))[:16]) {
		t.Errorf("printing the key shows it: %s", printed)
	}
	// Never overwritten.
	if _, err := WriteKeyFile(path); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("second WriteKeyFile: %v, want fs.ErrExist naming the file", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Error("the key file changed")
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
		is            error
	}{
		{"missing", "", 0, "does not exist", fs.ErrNotExist},
		{"group-readable", secret + "\n", 0o640, "mode 0600 or 0400", keystore.ErrInsecure},
		{"world-readable", secret + "\n", 0o644, "mode 0600 or 0400", keystore.ErrInsecure},
		{"not-base64", "not base64 at all!!" + "\n", 0o600, "not standard base64", nil},
		{"short", base64.StdEncoding.EncodeToString([]byte("short-key")) + "\n", 0o600, "9-byte key", nil},
		{"two-lines", secret + "\n" + secret + "\n", 0o600, "more than one line", nil},
		{"empty", "", 0o600, "0-byte key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".key")
			if tc.mode != 0 {
				if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadKeyFile(path)
			if tc.is == keystore.ErrInsecure && runtime.GOOS == "windows" {
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v does not match %v", err, tc.is)
			}
			if strings.Contains(err.Error(), secret[:20]) || strings.Contains(err.Error(), "not base64 at all") {
				t.Errorf("the error quotes the file's content: %v", err)
			}
		})
	}
	ro := filepath.Join(dir, "readonly.key")
	if err := os.WriteFile(ro, []byte(secret+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(ro); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestSealBindsEverything(t *testing.T) {
	t.Parallel()
	k1, _ := NewEncryptionKey([]byte("0123456789abcdef0123456789abcdef"), "k1.key")
	k2, _ := NewEncryptionKey([]byte("fedcba9876543210fedcba9876543210"), "k2.key")
	s, err := newSealer(k1, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := keystore.Key{Environment: "preprod", Username: "alice", Item: keystore.ItemSession}
	id, ct := s.seal(key, 7, []byte("plain"))
	if got, err := s.open(key, 7, id, ct); err != nil || string(got) != "plain" {
		t.Fatalf("open: %q, %v", got, err)
	}
	for name, try := range map[string]func() error{
		"other user": func() error {
			_, err := s.open(keystore.Key{Environment: "preprod", Username: "bob", Item: keystore.ItemSession}, 7, id, ct)
			return err
		},
		"other env": func() error {
			_, err := s.open(keystore.Key{Environment: "prod", Username: "alice", Item: keystore.ItemSession}, 7, id, ct)
			return err
		},
		"other item": func() error {
			_, err := s.open(keystore.Key{Environment: "preprod", Username: "alice", Item: keystore.ItemTOTP}, 7, id, ct)
			return err
		},
		"other generation": func() error { _, err := s.open(key, 6, id, ct); return err },
	} {
		var de *decryptError
		if err := try(); !errors.As(err, &de) || errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "k1.key") {
			t.Errorf("%s: %v, want a DecryptError naming k1.key", name, err)
		}
	}
	other, _ := newSealer(k2, nil)
	var de *decryptError
	if _, err := other.open(key, 7, id, ct); !errors.As(err, &de) || !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "k2.key") {
		t.Errorf("wrong key: %v", err)
	}
	rotated, _ := newSealer(k2, []*EncryptionKey{k1})
	if got, err := rotated.open(key, 7, id, ct); err != nil || string(got) != "plain" {
		t.Errorf("rotated: %q, %v", got, err)
	}
	if id2, _ := rotated.seal(key, 8, []byte("x")); id2 != k2.ID() {
		t.Errorf("rotated store encrypts with %s, want the new key %s", id2, k2.ID())
	}
}
