package redistest

import "syscall"

// Windows has no stop signal: [Server.Stop] and [Server.Continue] fail.
const (
	sigStop = syscall.Signal(-1)
	sigCont = syscall.Signal(-1)
)
