package isv

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/internal/eventq"
	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Source is a partner's access token, always valid: it exchanges client
// assertions for tokens, one exchange at a time, and refreshes before
// expiry. It is safe for concurrent use. Create it with [New]; stop its
// timers with [Source.Close].
type Source struct {
	cfg      settings
	cache    *tokencache.Cache[grantInfo]
	requests atomic.Int64
	adopted  atomic.Int64
	// events delivers to Config.Events (nil: no observer); storeDown and
	// downSince track the shared store's outages.
	events    *eventq.Queue[session.Event]
	storeDown atomic.Bool
	downSince atomic.Int64

	// Test hooks, fixed at construction.
	newJTI func() string
	assert func() (string, error)
}

// stopper is a timer that can be stopped.
type stopper = tokencache.Stopper

// grantInfo is what the cache keeps with each token: its scopes and its
// lifetime as issued.
type grantInfo struct {
	scope    string
	lifetime time.Duration
}

// New validates cfg and returns a Source. It sends nothing: the first
// [Source.Token] fetches the first token.
func New(cfg Config) (*Source, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	src := &Source{cfg: s, newJTI: uuid.NewString, events: newEvents(s.events, s.eventBuffer)}
	src.assert = src.assertion
	src.useTimers(nil)
	return src, nil
}

// useTimers (re)builds the cache with afterFunc scheduling its timers (nil:
// time.AfterFunc). Tests call it before the first Token.
func (s *Source) useTimers(afterFunc func(time.Duration, func()) stopper) {
	var jitter float64
	if s.cfg.store != nil {
		jitter = storeJitter
	}
	s.cache = tokencache.New(tokencache.Config[grantInfo]{
		Jitter:    jitter,
		Fetch:     s.fetch,
		Now:       s.cfg.now,
		Margin:    s.cfg.margin,
		Budget:    s.cfg.refreshTTL,
		AfterFunc: afterFunc,
	})
}

// Token returns a valid access token. A fresh cached token costs one atomic
// load and one flag read: no lock, no clock, no allocation. A stale one
// (within the margin of expiry) is returned at once while one background
// refresh runs. Without a usable token, Token waits for the one shared
// refresh or for ctx; giving up does not cancel the refresh for the others.
func (s *Source) Token(ctx context.Context) (traderapi.Secret, error) {
	return s.cache.Token(ctx)
}

// fetch gets the next token: through the shared store when there is one
// (see [Source.fetchShared]), else by a request.
func (s *Source) fetch(ctx context.Context, from *entry) (*entry, error) {
	if s.cfg.store != nil {
		return s.fetchShared(ctx, from)
	}
	return s.request(ctx, from)
}

// request is one token request: it signs an assertion and trades it for a
// token whose lifetime runs from when the request was sent.
func (s *Source) request(ctx context.Context, from *entry) (*entry, error) {
	ev := session.Event{Reason: reason(from), Attempt: 1}
	sent := s.cfg.now()
	s.emit(withType(ev, session.EventRefreshStarted))
	g, err := s.exchange(ctx)
	ev.Duration = s.cfg.now().Sub(sent)
	if err != nil {
		n, _ := s.cache.Failures()
		ev.Err, ev.Failures = err, n+1
		s.emit(withType(ev, session.EventRefreshFailed))
		s.cfg.log.LogAttrs(ctx, slog.LevelWarn, "isv: token request failed",
			slog.String("client_id", s.cfg.clientID), slog.String("error", err.Error()),
			slog.Bool("serving_previous", from.Usable()))
		return nil, err
	}
	s.cfg.log.LogAttrs(ctx, slog.LevelDebug, "isv: new access token",
		slog.String("client_id", s.cfg.clientID), slog.Duration("lifetime", g.lifetime), slog.String("scope", g.scope))
	// A JWT's iat and exp are whole seconds, rounded down when the token was
	// minted: its real end may come up to a second before sent + lifetime.
	start := g.sent.Add(-time.Second)
	e := s.cache.NewEntry(g.token, grantInfo{scope: g.scope, lifetime: g.lifetime}, tokencache.Schedule{From: start, Lifetime: g.lifetime})
	ev.Expiry = e.Expiry
	s.emit(withType(ev, session.EventRefreshSucceeded))
	return e, nil
}

func withType(e session.Event, t session.EventType) session.Event {
	e.Type = t
	return e
}

// Invalidate drops token if it is the current one (the API answered 401 to
// it), so that the next [Source.Token] fetches a new one. A token that has
// already been replaced is left alone.
func (s *Source) Invalidate(token traderapi.Secret) { s.cache.Invalidate(token) }

// Close stops the timers, cancels a token request in flight and drops the
// token; Token then returns [session.ErrClosed]. It is safe to call more than once.
func (s *Source) Close() error {
	s.cache.Close(closeWait)
	s.events.Close(closeWait)
	return nil
}

// closeWait bounds how long Close waits for a token request to stop.
const closeWait = 2 * time.Second

// assertion signs a fresh client assertion: iss = sub = the client ID, aud =
// the token endpoint, iat = now, exp = iat + the assertion lifetime, a new
// UUID jti. It is what each token request sends.
func (s *Source) assertion() (string, error) {
	return isvkit.SignAssertion(s.cfg.key, isvkit.AssertionClaims{
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
	if e := s.cache.Current(); e.Usable() {
		return e.Expiry
	}
	return time.Time{}
}

// Scope returns the current token's scopes, space separated: the token
// response's "scope", or else the token's own claim.
func (s *Source) Scope() string {
	if e := s.cache.Current(); e.Usable() {
		return e.Data.scope
	}
	return ""
}

// TokenURL returns the token endpoint, which is also the assertions' aud.
func (s *Source) TokenURL() string { return s.cfg.tokenURL }

// Audience returns the API audience tokens are requested for.
func (s *Source) Audience() string { return s.cfg.audience }

// APIURL returns the API's base URL.
func (s *Source) APIURL() string { return s.cfg.apiURL }

// describe describes the source without its key or token.
func (s *Source) describe() string {
	state := "no token"
	if e := s.cache.Current(); e.Usable() {
		state = "token " + e.Token.String()
	}
	return fmt.Sprintf("isv.Source{ClientID: %q, TokenURL: %q, Key: %s, %s}", s.cfg.clientID, s.cfg.tokenURL, describeKey(s.cfg.key), state)
}

// Format implements [fmt.Formatter] so that no verb prints a secret.
func (s *Source) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.describe())) }

// LogValue implements [slog.LogValuer].
func (s *Source) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", s.cfg.clientID), slog.String("token_url", s.cfg.tokenURL),
		slog.String("key", describeKey(s.cfg.key)), slog.Time("expiry", s.Expiry()))
}

// A Source is a session.TokenSource: bot code written against that
// interface takes a Source or a trader's *session.Manager alike.
var _ session.TokenSource = (*Source)(nil)
