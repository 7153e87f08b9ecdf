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
