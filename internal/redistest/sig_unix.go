//go:build unix

package redistest

import "syscall"

// Signals for [Server.Stop] and [Server.Continue].
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)
