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
