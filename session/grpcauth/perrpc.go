package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/credentials"
)

// perRPC is a token function as gRPC per-RPC credentials.
type perRPC struct {
	token  TokenFunc
	scheme string
	extra  map[string]string
	err    error // a bad option, returned by every GetRequestMetadata
}

// Option configures the credentials of [PerRPC] and [DialOptions]. An
// invalid option makes every call fail, naming it, before a token is read.
type Option func(*perRPC) error

// WithScheme puts an authorization scheme before the token, for a gateway
// that wants "authorization: Bearer <token>" rather than the exchange's raw
// "authorization: <token>". An empty scheme keeps the raw form.
func WithScheme(scheme string) Option {
	return func(p *perRPC) error {
		if strings.ContainsAny(scheme, " \t\r\n") {
			return fmt.Errorf("grpcauth: WithScheme(%q): a scheme is one word, such as Bearer", scheme)
		}
		p.scheme = scheme
		return nil
	}
}

// WithMetadata adds a fixed metadata entry to every RPC (a participant id,
// say). The key is lowercased, as gRPC metadata keys are; it may not be
// "authorization".
func WithMetadata(key, value string) Option {
	return func(p *perRPC) error {
		k := strings.ToLower(key)
		if k == "" || k == "authorization" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("grpcauth: WithMetadata(%q): not a usable metadata key", key)
		}
		if p.extra == nil {
			p.extra = map[string]string{}
		}
		p.extra[k] = value
		return nil
	}
}

// PerRPC returns token as gRPC per-RPC credentials: every RPC carries
// "authorization: <token>" (see [WithScheme]) with the token token returns
// at that moment, so a refresh between RPCs is picked up. The credentials
// require transport security: gRPC refuses them on a connection without
// TLS. Once the session has ended, or after [session.Manager.Close], every
// RPC fails before it is sent. Pass them to grpc.WithPerRPCCredentials (for
// every RPC of a connection) or grpc.PerRPCCredentials (for one call);
// [DialOptions] adds them with interceptors that tell why a call failed.
func PerRPC(token TokenFunc, opts ...Option) credentials.PerRPCCredentials {
	p := &perRPC{token: token}
	if token == nil {
		p.err = errors.New("grpcauth: PerRPC: nil token function")
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
// [session.ErrNotLoggedIn], [session.ErrSessionExpired], ...) fails the RPC before it is
// sent; grpc-go reports it with code Unauthenticated and the error's text,
// which never holds a token.
func (p *perRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
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
func (p *perRPC) RequireTransportSecurity() bool { return true }

// String describes the credentials without a token.
func (p *perRPC) String() string {
	scheme := p.scheme
	if scheme == "" {
		scheme = "raw"
	}
	return fmt.Sprintf("grpcauth.PerRPC{scheme: %s, extra metadata: %d}", scheme, len(p.extra))
}
