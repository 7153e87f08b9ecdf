package agent

import (
	"context"
	"errors"
	"net"
	"os"
)

// errNoPeerCred: the platform does not tell a Unix socket's peer.
var errNoPeerCred = errors.New("peer credentials are not available on this platform")

// peerKey is the context key of a connection's peer check.
type peerKey struct{}

// peerResult is what the check of one connection found.
type peerResult struct {
	uid int
	err error
}

// connContext records the peer's uid in the connection's context, for
// [requireOwner].
func connContext(ctx context.Context, c net.Conn) context.Context {
	uid, err := peerUID(c)
	return context.WithValue(ctx, peerKey{}, peerResult{uid: uid, err: err})
}

// peerAllowed reports whether the request's peer is the agent's own user.
// Where the platform tells no peer (Windows), only the directory's and the
// socket's permissions guard the socket, and every peer is allowed.
func peerAllowed(ctx context.Context) (bool, int) {
	p, ok := ctx.Value(peerKey{}).(peerResult)
	switch {
	case !ok:
		return false, -1
	case errors.Is(p.err, errNoPeerCred):
		return true, -1
	case p.err != nil:
		return false, -1
	}
	return p.uid == os.Getuid(), p.uid
}
