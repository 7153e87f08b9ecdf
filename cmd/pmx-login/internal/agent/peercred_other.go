//go:build !linux && !darwin

package agent

import "net"

// peerUID is not available here: Windows has AF_UNIX sockets but no peer
// uid, and the BSDs' getpeereid is not wired up. Only the socket
// directory's (0700) and the socket's (0600) permissions guard it; on
// Windows, the directory's ACL (the user's profile) does.
func peerUID(net.Conn) (int, error) { return -1, errNoPeerCred }
