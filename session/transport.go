package session

import (
	"io"
	"net/http"
)

// Transport returns an [http.RoundTripper] that sends every request with
// the current access token as its raw Authorization header (the exchange
// rejects a "Bearer " prefix). On a 401 it drops that token, refreshes once
// and retries once, if the request body can be replayed (it has GetBody or
// no body); a 403 is authorization, not authentication, and is returned as
// it is. A nil base means [http.DefaultTransport].
func (m *Manager) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{m: m, base: base}
}

type transport struct {
	m    *Manager
	base http.RoundTripper
}

// RoundTrip implements [http.RoundTripper]. It never modifies req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.m.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(ctx)
	r.Header.Set("Authorization", tok.Reveal())
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return resp, nil
	}
	t.m.invalidate(tok)
	fresh, err := t.m.Token(ctx)
	if err != nil || fresh == tok {
		// The refresh failed or gave nothing new: the 401 stands, unless the
		// session itself is over, which says more.
		if err != nil && resp != nil {
			drain(resp)
			return nil, err
		}
		return resp, nil
	}
	r = req.Clone(ctx)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	drain(resp)
	r.Header.Set("Authorization", fresh.Reveal())
	return t.base.RoundTrip(r)
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
