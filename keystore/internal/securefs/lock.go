//go:build unix || windows

package securefs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// lockName is the lock file in each environment's directory.
const lockName = ".lock"

// LockDir takes the lock on d's lock file, shared or exclusive, waiting at
// most wait or until ctx is done. The lock belongs to the open file, so it
// excludes other goroutines of this process as well as other processes.
func LockDir(ctx context.Context, d string, exclusive bool, wait time.Duration) (unlock func(), err error) {
	return LockPath(ctx, filepath.Join(d, lockName), exclusive, wait)
}

// LockPath takes the lock on the file at path, creating it (0600). A
// shared lock on a read-only directory that has no lock file is not taken:
// nothing can write there either, so a reader needs no lock.
func LockPath(ctx context.Context, path string, exclusive bool, wait time.Duration) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keystore: waiting for the lock on %s: %w", path, err)
	}
	f, err := openLock(path, exclusive)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return func() {}, nil
	}
	release := func() {
		_ = unlockFile(f)
		_ = f.Close()
	}
	done := make(chan error, 1)
	go func() { done <- lockFile(f, exclusive) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("keystore: locking %s: %w", path, err)
		}
		return release, nil
	case <-ctx.Done():
		err = fmt.Errorf("keystore: waiting for the lock on %s: %w", path, ctx.Err())
	case <-t.C:
		err = fmt.Errorf("keystore: another process has held the lock on %s for %s: try again, or remove the file if no pmx-login is running", path, wait)
	}
	// The lock call is still waiting: release the lock whenever it comes.
	go func() {
		if <-done == nil {
			release()
			return
		}
		_ = f.Close()
	}()
	return nil, err
}

// openLock opens the lock file at path without following a symbolic link
// and checks it. A shared lock opens an existing file read-only, so that a
// read-only store stays readable; it returns a nil file (no lock) when
// the file is absent and cannot be created.
func openLock(path string, exclusive bool) (*os.File, error) {
	if !exclusive {
		f, err := openNoFollow(path, os.O_RDONLY, 0)
		if err == nil {
			return checkLockFile(f, path)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, openError("opening the lock file", path, err)
		}
	}
	f, err := openNoFollow(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if !exclusive && readOnly(err) {
			return nil, nil
		}
		return nil, openError("opening the lock file", path, err)
	}
	return checkLockFile(f, path)
}

// checkLockFile checks that f is a regular file the running user owns.
func checkLockFile(f *os.File, path string) (*os.File, error) {
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("keystore: lock file %s is not a regular file: remove it", path)
	} else if err == nil {
		err = checkOwner(path, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// openError describes a failed open of path; a symbolic link, which
// openNoFollow refuses, is named as such.
func openError(what, path string, err error) error {
	if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("keystore: %s: %s is a symbolic link, which is never followed: remove it", what, path)
	}
	return fmt.Errorf("keystore: %s: %w", what, err)
}
