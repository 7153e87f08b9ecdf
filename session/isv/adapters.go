package isv

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/pmx-login/pmx-login/session"
)

// OAuth2 returns the Source as an [oauth2.TokenSource], for libraries that
// take one. The token's Expiry is the real expiry (from expires_in), not an
// assumed 180 s. oauth2's TokenSource has no context: a token request made
// through it is bounded by Config.RefreshTimeout.
func (s *Source) OAuth2() oauth2.TokenSource { return oauth2Source{s} }

type oauth2Source struct{ src *Source }

// Token implements [oauth2.TokenSource].
func (o oauth2Source) Token() (*oauth2.Token, error) {
	e, err := o.src.cache.Entry(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: e.Token.Reveal(), TokenType: "Bearer", Expiry: e.Expiry}, nil
}

// PerRPC returns the Source as gRPC per-RPC credentials: they satisfy
// google.golang.org/grpc/credentials.PerRPCCredentials without this package
// importing gRPC, sending authorization: Bearer <token> and, when
// participantID is set, x-participant-id; they require transport security.
// Pass them to grpc.WithPerRPCCredentials. They are the trader session's
// [session.PerRPC], fed by this Source.
func (s *Source) PerRPC(participantID string) *session.PerRPC {
	opts := []session.PerRPCOption{session.WithScheme("Bearer")}
	if participantID != "" {
		opts = append(opts, session.WithMetadata(ParticipantHeader, participantID))
	}
	return session.NewPerRPC(s.Token, opts...)
}
