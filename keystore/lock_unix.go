//go:build unix

package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockName is the lock file in each environment's directory.
const lockName = ".lock"

// lockDir takes a flock(2) lock on d's lock file, shared or exclusive,
// waiting at most wait or until ctx is done. The lock is per open file, so
// it excludes other goroutines of this process as well as other processes.
func lockDir(ctx context.Context, d string, exclusive bool, wait time.Duration) (unlock func(), err error) {
	return lockPath(ctx, filepath.Join(d, lockName), exclusive, wait)
}

// lockPath takes a flock(2) lock on the file at path, creating it (0600).
func lockPath(ctx context.Context, path string, exclusive bool, wait time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keystore: opening lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	fd := int(f.Fd())
	release := func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		_ = f.Close()
	}
	done := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(fd, how)
			if !errors.Is(err, syscall.EINTR) {
				done <- err
				return
			}
		}
	}()
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
	// The flock call is still waiting: release the lock whenever it comes.
	go func() {
		if <-done == nil {
			release()
			return
		}
		_ = f.Close()
	}()
	return nil, err
}
