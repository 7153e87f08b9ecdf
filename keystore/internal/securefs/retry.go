package securefs

import (
	"os"
	"runtime"
	"time"
)

// Windows error codes that another process holding a file open (a reader
// without FILE_SHARE_DELETE, an antivirus or search indexer) causes for a
// moment. Numbers, not golang.org/x/sys/windows names, so that the
// classification is tested on every OS.
const (
	winAccessDenied     = 5  // ERROR_ACCESS_DENIED
	winSharingViolation = 32 // ERROR_SHARING_VIOLATION
	winLockViolation    = 33 // ERROR_LOCK_VIOLATION
)

// fileRetryBound is how long a rename or removal is retried on Windows.
const fileRetryBound = 2 * time.Second

// transientFileError reports whether err, from a rename or removal on
// goos, may go away once another process closes the file. Only Windows
// refuses to rename or remove an open file.
func transientFileError(goos string, err error) bool {
	errno, ok := errnoOf(err)
	if goos != "windows" || !ok {
		return false
	}
	switch errno {
	case winAccessDenied, winSharingViolation, winLockViolation:
		return true
	}
	return false
}

// retryFileOp runs op, and on goos runs it again while it fails with a
// transient error, for at most bound, backing off from 1ms to 100ms.
func retryFileOp(goos string, bound time.Duration, op func() error) error {
	deadline := time.Now().Add(bound)
	delay := time.Millisecond
	for {
		err := op()
		if err == nil || !transientFileError(goos, err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// rename is os.Rename, retried briefly on Windows sharing violations.
func rename(from, to string) error {
	return retryFileOp(runtime.GOOS, fileRetryBound, func() error { return os.Rename(from, to) })
}

// remove is os.Remove, retried briefly on Windows sharing violations.
func remove(path string) error {
	return retryFileOp(runtime.GOOS, fileRetryBound, func() error { return os.Remove(path) })
}
