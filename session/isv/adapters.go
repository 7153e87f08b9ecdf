package isv

import (
	"context"

	"golang.org/x/oauth2"
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

// PerRPC is the Source as gRPC per-RPC credentials: it satisfies
// google.golang.org/grpc/credentials.PerRPCCredentials without this package
// importing gRPC. Pass it to grpc.WithPerRPCCredentials.
type PerRPC struct {
	src         *Source
	participant string
}

// PerRPC returns gRPC per-RPC credentials that send authorization: Bearer
// <token> and, when participantID is set, x-participant-id.
func (s *Source) PerRPC(participantID string) *PerRPC {
	return &PerRPC{src: s, participant: participantID}
}

// GetRequestMetadata returns the metadata for one RPC.
func (p *PerRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := p.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	md := map[string]string{"authorization": "Bearer " + tok.Reveal()}
	if p.participant != "" {
		md[ParticipantHeader] = p.participant
	}
	return md, nil
}

// RequireTransportSecurity reports true: a bearer token is never sent over
// an insecure connection.
func (p *PerRPC) RequireTransportSecurity() bool { return true }
