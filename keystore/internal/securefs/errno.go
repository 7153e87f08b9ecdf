//go:build !plan9

package securefs

import (
	"errors"
	"syscall"
)

// errnoOf returns the system error number inside err.
func errnoOf(err error) (uintptr, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 0, false
	}
	return uintptr(errno), true
}
