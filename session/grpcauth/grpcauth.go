// Package grpcauth authorizes grpc-go calls with a session's token and
// tells a gRPC caller why a call failed, in the session's terms. It is its
// own package so that only programs that use gRPC link grpc-go.
//
// Per-RPC credentials alone ([PerRPC]) make a call whose
// token cannot be had fail with code Unauthenticated and the error's text
// only: the caller cannot tell a session that ended from a token the
// server refused. The interceptors of [DialOptions] get the token before
// the call is sent, and fail it with an error that is both a gRPC status
// and the session's error, so errors.Is(err, session.ErrSessionExpired)
// and [Classify] tell what happened.
package grpcauth

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// TokenFunc returns a valid access token: [session.Manager.Token], an
// isv.Source's Token, or any [session.TokenSource]'s Token.
type TokenFunc = func(context.Context) (traderapi.Secret, error)

// DialOptions returns what authorizes every call of a connection with
// token: per-RPC credentials ([PerRPC] with opts) and unary and
// stream interceptors that get the token before a call is sent. A call
// without a token fails with the session's error as a gRPC status (see
// [Classify]). The credentials need a TLS connection.
func DialOptions(token TokenFunc, opts ...Option) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithPerRPCCredentials(PerRPC(token, opts...)),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
			if _, err := token(ctx); err != nil {
				return notSent(err)
			}
			return invoker(ctx, method, req, reply, cc, o...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
			if _, err := token(ctx); err != nil {
				return nil, notSent(err)
			}
			return streamer(ctx, desc, cc, method, o...)
		}),
	}
}

// notSentError is a call that was not sent because no token could be had:
// a gRPC status that wraps the session's error.
type notSentError struct{ err error }

func notSent(err error) error { return &notSentError{err: err} }

func (e *notSentError) Error() string { return "rpc not sent: no access token: " + e.err.Error() }

// Unwrap returns the session's error.
func (e *notSentError) Unwrap() error { return e.err }

// GRPCStatus is the call's status: Unauthenticated when the session is
// over or was never there, else the code that fits the session's error.
func (e *notSentError) GRPCStatus() *status.Status { return status.New(codeOf(e.err), e.Error()) }

// codeOf maps a session error to the gRPC code of a call it stopped.
func codeOf(err error) codes.Code {
	switch session.Classify(err) {
	case session.KindUnavailable, session.KindClosed:
		return codes.Unavailable
	case session.KindRateLimited:
		return codes.ResourceExhausted
	case session.KindCanceled:
		if errors.Is(err, context.DeadlineExceeded) {
			return codes.DeadlineExceeded
		}
		return codes.Canceled
	case session.KindConfig:
		return codes.FailedPrecondition
	}
	return codes.Unauthenticated
}

// Classify returns the [session.Kind] of an error from a gRPC call: the
// session's own kind for a call that [DialOptions] stopped before it was
// sent (a session that ended is [session.KindSessionEnded]), else the
// kind that fits the status the server or the transport gave:
// Unauthenticated is [session.KindRejected] (the server refused the
// token), PermissionDenied [session.KindForbidden], ResourceExhausted
// [session.KindRateLimited], Unavailable [session.KindUnavailable],
// Canceled and DeadlineExceeded [session.KindCanceled].
func Classify(err error) session.Kind {
	if _, ok := errors.AsType[*notSentError](err); ok {
		return session.Classify(err)
	}
	switch status.Code(err) {
	case codes.OK:
		return session.KindNone
	case codes.Unauthenticated:
		return session.KindRejected
	case codes.PermissionDenied:
		return session.KindForbidden
	case codes.ResourceExhausted:
		return session.KindRateLimited
	case codes.Unavailable:
		return session.KindUnavailable
	case codes.Canceled, codes.DeadlineExceeded:
		return session.KindCanceled
	}
	return session.KindOther
}
