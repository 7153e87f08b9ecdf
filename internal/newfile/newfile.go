// Package newfile writes a file that must not exist yet, such as a key
// file: created exclusively with its mode whatever the umask, synced, and
// removed again when any step fails, so that a failed write leaves no
// partial key behind. pmx-login's key generators, the redis keystore's key
// file and the MFA QR code (it holds the TOTP secret) share it.
package newfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Write creates path holding data with mode perm. An existing path gives
// os.OpenFile's error, matching [fs.ErrExist]; nothing is overwritten.
func Write(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
