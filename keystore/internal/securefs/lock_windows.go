//go:build windows

package securefs

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// allBytes locks the whole file, as far as a lock can reach.
const allBytes = ^uint32(0)

// lockFile takes a LockFileEx lock on f, shared or exclusive, waiting for
// it. Like flock(2), the lock belongs to the open handle, so it excludes
// other goroutines of this process as well as other processes, and it ends
// when the handle is closed (also when the process dies).
func lockFile(f *os.File, exclusive bool) error {
	var flags uint32
	if exclusive {
		flags = windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, allBytes, allBytes, new(windows.Overlapped))
}

// unlockFile releases f's lock (closing f would too).
func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, allBytes, allBytes, new(windows.Overlapped))
}

// openNoFollow opens path. Windows has no O_NOFOLLOW; creating a symbolic
// link there takes the privilege (or developer mode) that an attacker
// would need, and the profile's ACLs keep other users out of the
// directory (see README).
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

// readOnly reports whether err is a failure to create a file because the
// directory is read-only to this user.
func readOnly(err error) bool { return errors.Is(err, fs.ErrPermission) }
