package redistest

import "syscall"

// sysProcAttr kills a server when the test process dies, so that no server
// outlives a test binary killed before its cleanups ran.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
