package securefs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// maxEscapedName caps an escaped username in a file name; longer names are
// replaced by a hash (file names are limited to 255 bytes).
const maxEscapedName = 200

// FileName returns the file name of a user's item.
func FileName(user string, item keystore.Item) string {
	return EscapeUser(user) + "." + string(item) + ".json"
}

// EscapeUser turns a username into a file name part that cannot leave the
// directory or collide with another user's: bytes other than ASCII letters,
// digits and "-_@+" become %XX, as does '.' (so "." and ".." and hidden
// names cannot occur). A name whose escaped form is too long becomes "~"
// and the SHA-256 of the username ('~' never appears in an escaped name).
func EscapeUser(user string) string {
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_@+", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	if b.Len() > maxEscapedName {
		sum := sha256.Sum256([]byte(user))
		return "~" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

// Insecure reports whether mode gives group or others any access. Windows
// has no such mode bits; its files are protected by the profile's ACLs.
func Insecure(mode fs.FileMode) bool {
	return runtime.GOOS != "windows" && mode.Perm()&0o077 != 0
}

// CheckDir checks that d is a directory that the running user owns and
// only its owner can access.
func CheckDir(d string) error {
	fi, err := os.Lstat(d)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("keystore: %s is not a directory: move it away", d)
	}
	if Insecure(fi.Mode()) {
		return fmt.Errorf("%w: directory %s can be accessed by others (mode %04o): run chmod 700 %s",
			keystore.ErrInsecure, d, fi.Mode().Perm(), d)
	}
	return checkOwner(d, fi)
}

// ReadSecure reads a regular file that the running user owns and only its
// owner can access, capped at maxFile bytes. It refuses a symbolic link,
// also one planted between the check and the open (O_NOFOLLOW).
func ReadSecure(path string) ([]byte, error) {
	li, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !li.Mode().IsRegular() {
		// Checked before opening: opening a FIFO would block.
		return nil, fmt.Errorf("keystore: %s is not a regular file: remove it", path)
	}
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err != nil {
		return nil, openError("reading", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keystore: %s is not a regular file: remove it", path)
	}
	if Insecure(fi.Mode()) {
		return nil, fmt.Errorf("%w: %s can be read by others (mode %04o): run chmod 600 %s",
			keystore.ErrInsecure, path, fi.Mode().Perm(), path)
	}
	if err := checkOwner(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("keystore: reading %s: %w", path, err)
	}
	return b, nil
}

// TempPattern names temporary files: hidden, so no entry can match.
const TempPattern = ".tmp-*"

// WriteAtomic replaces d/name with b: a 0600 temporary file in d, synced,
// renamed over name, then d synced, so that a crash leaves the old or the
// new content.
func WriteAtomic(d, name string, b []byte) (err error) {
	tmp, err := os.CreateTemp(d, TempPattern)
	if err != nil {
		return fmt.Errorf("keystore: writing %s: %w", filepath.Join(d, name), err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("keystore: writing %s: %w", filepath.Join(d, name), err)
	}
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return fmt.Errorf("keystore: writing %s: %w", filepath.Join(d, name), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("keystore: writing %s: %w", filepath.Join(d, name), err)
	}
	if err = rename(tmp.Name(), filepath.Join(d, name)); err != nil {
		return fmt.Errorf("keystore: writing %s: %w", filepath.Join(d, name), err)
	}
	return syncDir(d)
}

// RemoveSynced removes d/name if it exists and syncs d.
func RemoveSynced(d, name string) error {
	if err := remove(filepath.Join(d, name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("keystore: removing %s: %w", filepath.Join(d, name), err)
	}
	return syncDir(d)
}

// syncDir makes a rename or removal in d durable. Windows cannot sync a
// directory; its renames are durable on their own.
func syncDir(d string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(d)
	if err != nil {
		return fmt.Errorf("keystore: syncing %s: %w", d, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keystore: syncing %s: %w", d, err)
	}
	return nil
}

// RemoveTemps removes temporary files a killed writer left in d. Call it
// only under the exclusive lock: then no writer is running.
func RemoveTemps(d string) {
	names, _ := filepath.Glob(filepath.Join(d, TempPattern))
	for _, n := range names {
		_ = remove(n)
	}
}

// maxFile caps what ReadSecure reads: the largest record the codec takes.
const maxFile = 64 << 10

// HoldWait bounds how long [keystore.Store.Lock] waits for the file and
// keyring backends, whatever ctx allows: the lock is held around one
// refresh (a few HTTP round trips, each bounded by the client's timeout),
// so a lock held this long belongs to a stuck or stopped process, and the
// waiter fails with an error saying so instead of hanging behind it.
const HoldWait = 2 * time.Minute

// DefaultDir returns the directory of the file backend:
// os.UserConfigDir()/pmx-login ($XDG_CONFIG_HOME/pmx-login on Linux).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("keystore: no user config directory for the session file (set XDG_CONFIG_HOME or HOME): %w", err)
	}
	return filepath.Join(base, "pmx-login"), nil
}
