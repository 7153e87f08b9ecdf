package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Transport returns an [http.RoundTripper] that sends every request to the
// exchange's origin (the client's base URL: scheme, host and port) with the
// current access token as its raw Authorization header (the exchange
// rejects a "Bearer " prefix). A request to any other origin, such as a
// redirect's target, goes out without the token. On a 401 it drops that
// token, refreshes once and retries once, if the request body can be
// replayed (it has GetBody or no body); a 403 is authorization, not
// authentication, and is returned as it is. A request that does not reach
// the server fails with an error matching [traderapi.ErrUnreachable]. A nil
// base means [http.DefaultTransport].
func (m *Manager) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{m: m, base: base, origin: m.origin()}
}

// origin is the exchange's scheme://host[:port], "" when unknown (then
// every request is authorized, as before origins were checked).
func (m *Manager) origin() string {
	e, ok := m.cfg.Client.(environmenter)
	if !ok {
		return ""
	}
	u, err := url.Parse(e.Environment().BaseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return originOf(u)
}

func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + u.Hostname() + ":" + port
}

type transport struct {
	m      *Manager
	base   http.RoundTripper
	origin string
}

// RoundTrip implements [http.RoundTripper]. It never modifies req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.origin != "" && originOf(req.URL) != t.origin {
		r := req.Clone(req.Context())
		r.Header.Del("Authorization")
		return t.send(r)
	}
	ctx := req.Context()
	tok, err := t.m.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(authorized(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) {
		return resp, err
	}
	return t.retry(req, resp, tok)
}

// retry handles a 401: drop tok, get a new token, send once more.
func (t *transport) retry(req *http.Request, resp *http.Response, tok traderapi.Secret) (*http.Response, error) {
	ctx := req.Context()
	t.m.cache.Invalidate(tok)
	fresh, err := t.m.Token(ctx)
	if err != nil || fresh == tok {
		// The refresh failed or gave nothing new: the 401 stands, unless the
		// session itself is over, which says more.
		t.retried(req, nil, err)
		if err != nil && (errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrNotLoggedIn)) {
			drain(resp)
			return nil, err
		}
		return resp, nil
	}
	r := authorized(req, fresh)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	drain(resp)
	out, err := t.send(r)
	t.retried(req, out, err)
	return out, err
}

// retried reports the retry of a request after a 401 (its method and path,
// never its query or body) and how it went.
func (t *transport) retried(req *http.Request, resp *http.Response, err error) {
	ev := Event{Type: EventUnauthorizedRetried, Method: req.Method, Path: req.URL.Path, Err: err}
	if resp != nil {
		ev.Status = resp.StatusCode
	}
	t.m.emit(ev)
}

// send sends r, marking a failure to reach the server as ErrUnreachable.
func (t *transport) send(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, traderapi.ErrUnreachable) {
		err = fmt.Errorf("%w: %w", traderapi.ErrUnreachable, err)
	}
	return resp, err
}

// CloseIdleConnections closes the base transport's idle connections, so
// that http.Client.CloseIdleConnections reaches them.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func authorized(req *http.Request, tok traderapi.Secret) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", tok.Reveal())
	return r
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of a discarded response so its connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// TokenSource is what a bot's code needs of a session to authorize its own
// calls: a valid access token. [*Manager] and isv.Source satisfy it; a
// bot that depends on TokenSource rather than on either tests its code
// with sessiontest.Source, a fake that needs no exchange.
type TokenSource interface {
	Token(ctx context.Context) (traderapi.Secret, error)
}

var _ TokenSource = (*Manager)(nil)
