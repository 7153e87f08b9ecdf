package isv

import (
	"io"
	"net/http"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Transport returns an [http.RoundTripper] that authorizes every request
// with the Source's token, over base (default [http.DefaultTransport]):
//
//   - it sends a clone of the request with Authorization: Bearer <token>;
//   - on an account-scoped path (the guide's account-scoped paths) it sets x-participant-id
//     to participantID unless the request carries its own, and refuses to
//     send the request when neither is set, with an error that matches
//     [ErrMissingParticipant] and names the header;
//   - on a 401 it drops that exact token, gets a new one and retries once,
//     if the request body can be replayed (no body, or GetBody set); a second
//     401 is returned as is;
//   - a 403 (a missing scope or participant) is returned as is, never
//     retried: see [CheckResponse] to turn it into a [*ScopeError].
func (s *Source) Transport(base http.RoundTripper, participantID string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{src: s, base: base, participant: participantID}
}

type transport struct {
	src         *Source
	base        http.RoundTripper
	participant string
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	participant := req.Header.Get(ParticipantHeader)
	if participant == "" && isvkit.AccountScoped(req.URL.Path) {
		participant = t.participant
		if participant == "" {
			closeBody()
			return nil, &participantError{path: req.URL.Path}
		}
	}
	tok, err := t.src.Token(req.Context())
	if err != nil {
		closeBody()
		return nil, err
	}
	resp, err := t.base.RoundTrip(authorize(req, tok, participant, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	t.src.Invalidate(tok)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // the body is spent: the caller sees the 401
	}
	var body io.ReadCloser
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	tok2, err := t.src.Token(req.Context())
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		t.retried(req, nil, err)
		return resp, nil // no new token: report the 401 the API gave
	}
	drain(resp)
	out, err := t.base.RoundTrip(authorize(req, tok2, participant, body))
	t.retried(req, out, err)
	return out, err
}

// retried reports the retry of a request after a 401: its method and path
// (no query, no body) and the retry's status (0: not sent, Err says why).
func (t *transport) retried(req *http.Request, resp *http.Response, err error) {
	ev := session.Event{Type: session.EventUnauthorizedRetried, Method: req.Method, Path: req.URL.Path, Err: err}
	if resp != nil {
		ev.Status = resp.StatusCode
	}
	t.src.emit(ev)
}

// CloseIdleConnections closes the base transport's idle connections, so
// that http.Client.CloseIdleConnections reaches them (issue 10: the
// transport hid them).
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// authorize clones req with the token and participant set.
func authorize(req *http.Request, tok traderapi.Secret, participant string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok.Reveal())
	if participant != "" {
		r.Header.Set(ParticipantHeader, participant)
	}
	return r
}

// drain reads a little of a body we discard, so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}
