// Package sessiontest is a fake [session.TokenSource] for the unit tests
// of a bot's own code: it hands out the token the test sets, or the error
// it sets, and counts the calls. It needs no exchange and no keystore.
// Test pmx-login's own behaviour against traderapitest instead.
package sessiontest

import (
	"context"
	"sync"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Source is a fake token source. Its zero value has no token and answers
// [session.ErrNotLoggedIn]. It is safe for concurrent use.
type Source struct {
	mu    sync.Mutex
	tok   traderapi.Secret
	err   error
	calls int
}

var _ session.TokenSource = (*Source)(nil)

// NewSource returns a Source that hands out tok.
func NewSource(tok traderapi.Secret) *Source { return &Source{tok: tok} }

// Token returns the token set, or the error set, or, with neither, an
// error matching [session.ErrNotLoggedIn]. A done ctx is returned as is.
func (s *Source) Token(ctx context.Context) (traderapi.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case s.err != nil:
		return "", s.err
	case s.tok.IsZero():
		return "", session.ErrNotLoggedIn
	}
	return s.tok, nil
}

// Set makes Token hand out tok (a refresh, as the bot sees it) and clears
// the error.
func (s *Source) Set(tok traderapi.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok, s.err = tok, nil
}

// Fail makes Token return err, such as one matching
// [session.ErrSessionExpired] (the session ended) or
// [traderapi.ErrUnavailable] (the exchange is away, the token held is used
// up).
func (s *Source) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Calls returns how many times Token was called.
func (s *Source) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
