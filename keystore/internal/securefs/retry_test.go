//go:build !plan9

package securefs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestTransientFileError(t *testing.T) {
	t.Parallel()
	link := func(errno syscall.Errno) error { return &os.LinkError{Op: "rename", Old: "a", New: "b", Err: errno} }
	for _, tc := range []struct {
		goos string
		err  error
		want bool
	}{
		{"windows", link(winSharingViolation), true},
		{"windows", link(winAccessDenied), true},
		{"windows", &fs.PathError{Op: "remove", Path: "a", Err: syscall.Errno(winLockViolation)}, true},
		{"windows", link(2), false}, // ERROR_FILE_NOT_FOUND: retrying cannot help
		{"windows", errors.New("sharing violation"), false},
		{"windows", nil, false},
		{"linux", link(winSharingViolation), false}, // EPIPE on Linux
		{"darwin", link(winAccessDenied), false},
	} {
		if got := transientFileError(tc.goos, tc.err); got != tc.want {
			t.Errorf("transientFileError(%s, %v) = %v, want %v", tc.goos, tc.err, got, tc.want)
		}
	}
}

func TestRetryFileOp(t *testing.T) {
	t.Parallel()
	failing := func(n int, err error) (func() error, *int) {
		calls := 0
		return func() error {
			calls++
			if calls <= n {
				return err
			}
			return nil
		}, &calls
	}
	sharing := &os.LinkError{Op: "rename", Err: syscall.Errno(winSharingViolation)}
	op, calls := failing(2, sharing)
	if err := retryFileOp("windows", time.Minute, op); err != nil || *calls != 3 {
		t.Fatalf("two sharing violations then success: %v after %d calls, want nil after 3", err, *calls)
	}
	op, calls = failing(2, sharing)
	if err := retryFileOp("linux", time.Minute, op); !errors.Is(err, sharing) || *calls != 1 {
		t.Fatalf("on linux: %v after %d calls, want the error after 1", err, *calls)
	}
	op, calls = failing(1<<30, sharing)
	if err := retryFileOp("windows", 20*time.Millisecond, op); !errors.Is(err, sharing) || *calls < 2 {
		t.Fatalf("a lasting violation: %v after %d calls, want the error after retries", err, *calls)
	}
	op, calls = failing(5, &fs.PathError{Op: "remove", Err: syscall.Errno(2)})
	if err := retryFileOp("windows", time.Minute, op); err == nil || *calls != 1 {
		t.Fatalf("a non-transient error: %v after %d calls, want it after 1", err, *calls)
	}
}
