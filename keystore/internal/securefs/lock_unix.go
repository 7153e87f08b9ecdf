//go:build unix

package securefs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockFile takes a flock(2) lock on f, waiting for it.
func lockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// unlockFile releases f's lock (closing f would too).
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// openNoFollow opens path, refusing a symbolic link as its last component
// (O_NOFOLLOW) and without blocking on a FIFO (O_NONBLOCK, which does not
// change how a regular file is read or locked).
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
}

// readOnly reports whether err is a failure to create a file because the
// directory or file system is read-only to this user.
func readOnly(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}
