//go:build unix

package securefs

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/pmx-login/pmx-login/keystore"
)

// checkOwner refuses a file or directory that another user owns: running
// as root, a keystore planted by someone else would be trusted otherwise.
func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	euid := os.Geteuid()
	if int64(st.Uid) == int64(euid) {
		return nil
	}
	return fmt.Errorf("%w: %s is owned by uid %d, not by the user running this program (uid %d): run it as the owner, or if the files are yours, chown -R %d %s",
		keystore.ErrInsecure, path, st.Uid, euid, euid, path)
}

// CheckKeyOwner refuses a key file that neither the user running this
// program nor root owns: another user could have planted it (and kept a
// copy of the key).
func CheckKeyOwner(path string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
		return nil
	}
	return checkOwner(path, fi)
}

// OpenNonblocking opens path for reading without blocking: a FIFO at the
// path opens at once (and is then refused as not a regular file) instead
// of waiting for a writer forever.
func OpenNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
