package isv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Source is a partner's access token, always valid: it exchanges client
// assertions for tokens, one exchange at a time, and refreshes before
// expiry. It is safe for concurrent use. Create it with [New]; stop its
// timers with [Source.Close].
type Source struct {
	cfg      settings
	cur      atomic.Pointer[tokenState]
	group    singleflight.Group
	mu       sync.Mutex // serialises publish and Close (never taken by Token's fast path)
	closed   bool       // guarded by mu
	requests atomic.Int64

	// Test hooks, fixed at construction.
	newJTI    func() string
	afterFunc func(time.Duration, func()) stopper
	assert    func() (string, error)
}

// stopper is a timer that can be stopped.
type stopper interface{ Stop() bool }

// tokenState is one token. Its fields never change after it is published,
// except the two flags its timers set.
type tokenState struct {
	token   traderapi.Secret
	scope   string
	expiry  time.Time // wall clock, for display and the oauth2 adapter
	stale   atomic.Bool
	expired atomic.Bool
	timers  [2]stopper
}

func (st *tokenState) stop() {
	for _, t := range st.timers {
		if t != nil {
			t.Stop()
		}
	}
}

// New validates cfg and returns a Source. It sends nothing: the first
// [Source.Token] fetches the first token.
func New(cfg Config) (*Source, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	src := &Source{
		cfg:       s,
		newJTI:    uuid.NewString,
		afterFunc: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
	}
	src.assert = src.Assertion
	return src, nil
}

// Token returns a valid access token. A fresh cached token costs one atomic
// load and one flag read: no lock, no clock, no allocation. A stale one
// (within the margin of expiry) is returned at once while one background
// refresh runs. Without a usable token, Token waits for the one shared
// refresh or for ctx; giving up does not cancel the refresh for the others.
func (s *Source) Token(ctx context.Context) (traderapi.Secret, error) {
	if st := s.cur.Load(); st != nil && !st.stale.Load() {
		return st.token, nil
	}
	return s.slowToken(ctx)
}

func (s *Source) slowToken(ctx context.Context) (traderapi.Secret, error) {
	st := s.cur.Load()
	if st != nil && !st.expired.Load() {
		s.refresh(ctx, st) // stale: refresh in the background, serve this one
		return st.token, nil
	}
	select {
	case r := <-s.refresh(ctx, st):
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(*tokenState).token, nil
	case <-ctx.Done():
		return "", fmt.Errorf("isv: waiting for an access token: %w", ctx.Err())
	}
}

// refresh starts (or joins) the one token request. seen is the state the
// caller found unusable: if another refresh has replaced it since, that
// result is used and nothing is sent.
func (s *Source) refresh(ctx context.Context, seen *tokenState) <-chan singleflight.Result {
	return s.group.DoChan("token", func() (any, error) {
		if cur := s.cur.Load(); cur != nil && cur != seen && !cur.stale.Load() {
			return cur, nil
		}
		if s.isClosed() {
			return nil, ErrClosed
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.refreshTTL)
		defer cancel()
		g, err := s.exchange(ctx)
		if err != nil {
			s.cfg.log.LogAttrs(ctx, slog.LevelWarn, "isv: token request failed",
				slog.String("client_id", s.cfg.clientID), slog.String("error", err.Error()),
				slog.Bool("serving_previous", seen != nil && !seen.expired.Load()))
			return nil, err
		}
		st, err := s.publish(g)
		if err != nil {
			return nil, err
		}
		s.cfg.log.LogAttrs(ctx, slog.LevelDebug, "isv: new access token",
			slog.String("client_id", s.cfg.clientID), slog.Duration("lifetime", g.lifetime), slog.String("scope", g.scope))
		return st, nil
	})
}

// publish schedules a grant's timers and makes it the current token with
// one atomic store. Timers run on the monotonic clock from when the request
// was sent: stale at lifetime − margin, expired at lifetime.
func (s *Source) publish(g grant) (*tokenState, error) {
	st := &tokenState{token: g.token, scope: g.scope, expiry: g.sent.Add(g.lifetime)}
	margin := min(s.cfg.margin, g.lifetime/2)
	var elapsed time.Duration // the round trip, already spent of the lifetime
	if !g.sentMono.IsZero() {
		elapsed = max(0, time.Since(g.sentMono))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	st.timers[0] = s.afterFunc(g.lifetime-margin-elapsed, func() { st.stale.Store(true) })
	st.timers[1] = s.afterFunc(g.lifetime-elapsed, func() { st.stale.Store(true); st.expired.Store(true) })
	if old := s.cur.Swap(st); old != nil {
		old.stop()
	}
	return st, nil
}

func (s *Source) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Invalidate drops token if it is the current one (the API answered 401 to
// it), so that the next [Source.Token] fetches a new one. A token that has
// already been replaced is left alone.
func (s *Source) Invalidate(token traderapi.Secret) {
	if st := s.cur.Load(); st != nil && st.token == token {
		st.stale.Store(true)
		st.expired.Store(true)
	}
}

// Close stops the timers and drops the token; Token then returns
// [ErrClosed]. It is safe to call more than once.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if old := s.cur.Swap(nil); old != nil {
		old.stop()
	}
	return nil
}

// Assertion signs a fresh client assertion: iss = sub = the client ID, aud =
// the token endpoint, iat = now, exp = iat + the assertion lifetime, a new
// UUID jti. It is what each token request sends; it is exported for
// linting ([LintAssertion]) and diagnosis.
func (s *Source) Assertion() (string, error) {
	return NewAssertion(s.cfg.key, AssertionClaims{
		ClientID: s.cfg.clientID,
		Audience: s.cfg.tokenURL,
		IssuedAt: s.cfg.now(),
		Lifetime: s.cfg.assertionTTL,
		ID:       s.newJTI(),
	})
}

// Expiry returns when the current token expires by the wall clock, zero if
// there is none.
func (s *Source) Expiry() time.Time {
	if st := s.cur.Load(); st != nil {
		return st.expiry
	}
	return time.Time{}
}

// Scope returns the current token's scopes, space separated: the token
// response's "scope", or else the token's own claim.
func (s *Source) Scope() string {
	if st := s.cur.Load(); st != nil {
		return st.scope
	}
	return ""
}

// TokenURL returns the token endpoint, which is also the assertions' aud.
func (s *Source) TokenURL() string { return s.cfg.tokenURL }

// Audience returns the API audience tokens are requested for.
func (s *Source) Audience() string { return s.cfg.audience }

// APIURL returns the API's base URL.
func (s *Source) APIURL() string { return s.cfg.apiURL }

// Requests returns how many token requests this Source has sent.
func (s *Source) Requests() int64 { return s.requests.Load() }

// String describes the source without its key or token.
func (s *Source) String() string {
	state := "no token"
	if st := s.cur.Load(); st != nil {
		state = "token " + st.token.String()
	}
	return fmt.Sprintf("isv.Source{ClientID: %q, TokenURL: %q, Key: %s, %s}", s.cfg.clientID, s.cfg.tokenURL, describeKey(s.cfg.key), state)
}

// GoString is [Source.String], for %#v.
func (s *Source) GoString() string { return s.String() }

// Format implements [fmt.Formatter] so that no verb prints a secret.
func (s *Source) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue implements [slog.LogValuer].
func (s *Source) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", s.cfg.clientID), slog.String("token_url", s.cfg.tokenURL),
		slog.String("key", describeKey(s.cfg.key)), slog.Time("expiry", s.Expiry()))
}
