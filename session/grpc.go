package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pmx-login/pmx-login/traderapi"
)

// PerRPC is a token source as gRPC per-RPC credentials: it satisfies
// google.golang.org/grpc/credentials.PerRPCCredentials without this package
// importing gRPC. Pass it to grpc.WithPerRPCCredentials (for every RPC of a
// connection) or grpc.PerRPCCredentials (for one call). It is safe for
// concurrent use; create it with [Manager.PerRPC] or [NewPerRPC].
type PerRPC struct {
	token  func(context.Context) (traderapi.Secret, error)
	scheme string
	extra  map[string]string
	err    error // a bad option, returned by every GetRequestMetadata
}

// PerRPCOption configures a [PerRPC]. An invalid option makes every
// [PerRPC.GetRequestMetadata] fail, naming it, before a token is read.
type PerRPCOption func(*PerRPC) error

// WithScheme puts an authorization scheme before the token, for a gateway
// that wants "authorization: Bearer <token>" rather than the exchange's raw
// "authorization: <token>". An empty scheme keeps the raw form.
func WithScheme(scheme string) PerRPCOption {
	return func(p *PerRPC) error {
		if strings.ContainsAny(scheme, " \t\r\n") {
			return fmt.Errorf("session: WithScheme(%q): a scheme is one word, such as Bearer", scheme)
		}
		p.scheme = scheme
		return nil
	}
}

// WithMetadata adds a fixed metadata entry to every RPC (a participant id,
// say). The key is lowercased, as gRPC metadata keys are; it may not be
// "authorization".
func WithMetadata(key, value string) PerRPCOption {
	return func(p *PerRPC) error {
		k := strings.ToLower(key)
		if k == "" || k == "authorization" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("session: WithMetadata(%q): not a usable metadata key", key)
		}
		if p.extra == nil {
			p.extra = map[string]string{}
		}
		p.extra[k] = value
		return nil
	}
}

// PerRPC returns the manager's access token as gRPC per-RPC credentials:
// every RPC carries "authorization: <token>" (see [WithScheme]) with the
// token [Manager.Token] returns at that moment, so a refresh between RPCs
// is picked up. [PerRPC.RequireTransportSecurity] is true: gRPC refuses to
// send it over a connection without TLS. Once the session has ended, or
// after [Manager.Close], every RPC fails before it is sent.
func (m *Manager) PerRPC(opts ...PerRPCOption) *PerRPC {
	return NewPerRPC(m.Token, opts...)
}

// NewPerRPC returns per-RPC credentials over any token function (an
// [isv.Source]'s Token, say). It is what [Manager.PerRPC] builds on.
//
// [isv.Source]: https://pkg.go.dev/github.com/pmx-login/pmx-login/session/isv#Source
func NewPerRPC(token func(context.Context) (traderapi.Secret, error), opts ...PerRPCOption) *PerRPC {
	p := &PerRPC{token: token}
	if token == nil {
		p.err = errors.New("session: NewPerRPC: nil token function")
	}
	for _, o := range opts {
		if err := o(p); err != nil && p.err == nil {
			p.err = err
		}
	}
	return p
}

// GetRequestMetadata returns the metadata of one RPC: the authorization
// entry with the current token, and the [WithMetadata] entries. ctx is the
// RPC's context; waiting for a refresh ends with it. An error (matching
// [ErrNotLoggedIn], [ErrSessionExpired], ...) fails the RPC before it is
// sent; grpc-go reports it with code Unauthenticated and the error's text,
// which never holds a token.
func (p *PerRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if p.err != nil {
		return nil, p.err
	}
	tok, err := p.token(ctx)
	if err != nil {
		return nil, err
	}
	md := make(map[string]string, 1+len(p.extra))
	for k, v := range p.extra {
		md[k] = v
	}
	if p.scheme != "" {
		md["authorization"] = p.scheme + " " + tok.Reveal()
	} else {
		md["authorization"] = tok.Reveal()
	}
	return md, nil
}

// RequireTransportSecurity reports true: the token is never sent over a
// connection without TLS.
func (p *PerRPC) RequireTransportSecurity() bool { return true }

// String describes the credentials without a token.
func (p *PerRPC) String() string {
	scheme := p.scheme
	if scheme == "" {
		scheme = "raw"
	}
	return fmt.Sprintf("session.PerRPC{scheme: %s, extra metadata: %d}", scheme, len(p.extra))
}
