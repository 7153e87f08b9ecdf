package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// MaxReplayBody is the largest request body the proxy keeps to send again
// after a 401; a larger one streams through and a 401 on it is returned as
// it is.
const MaxReplayBody = 1 << 20

// Route names, for [ProxyConfig.Observe].
const (
	RouteTrader = "trader"
	RouteISV    = "isv"
)

// ProxyConfig configures [Agent.ProxyHandler].
type ProxyConfig struct {
	// BaseURL and Host are the trader API's: the environment's base URL and
	// the Host header it wants (empty: BaseURL's host).
	BaseURL, Host string
	// ParticipantID is sent as x-participant-id on an ISV account-scoped
	// path when the request carries none.
	ParticipantID string
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Observe, when set, is called after each proxied request with its
	// route, the status the client got (502/503 when none came back) and
	// how long it took. It must not block.
	Observe func(route string, status int, d time.Duration)
}

// ProxyHandler forwards requests to the exchange with the agent's token:
//
//   - paths under /v1/ go to the ISV API (when the agent has ISV
//     credentials) with "Authorization: Bearer TOKEN" and x-participant-id;
//     every other path to the trader API at BaseURL with Host and the raw
//     "Authorization: TOKEN" the exchange wants;
//   - a client's own Authorization header is dropped and replaced: the
//     agent's session is the only one the proxy sends;
//   - the destination is fixed: an absolute-form request URL naming another
//     host is forwarded to the exchange all the same, CONNECT is refused,
//     and redirects are returned to the client, not followed;
//   - hop-by-hop headers are stripped, no X-Forwarded-* header is added;
//   - bodies stream both ways; a body of at most [MaxReplayBody] is kept so
//     that on the exchange's 401 the proxy refreshes once and sends it once
//     more (the rule of [session.Manager.Transport]).
//
// Without a valid token the answer is a 503 with an [ErrorJSON].
func (a *Agent) ProxyHandler(cfg ProxyConfig) (http.Handler, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("proxy: the base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Host == "" {
		cfg.Host = base.Host
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	p := &proxy{a: a, cfg: cfg}
	p.trader = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { rewrite(pr, base, cfg.Host) },
		Transport:     roundTripFunc(p.traderTrip),
		FlushInterval: -1,
		ErrorHandler:  p.fail,
	}
	p.isv = &httputil.ReverseProxy{
		Rewrite:       p.rewriteISV,
		Transport:     roundTripFunc(p.isvTrip),
		FlushInterval: -1,
		ErrorHandler:  p.fail,
	}
	return p, nil
}

type proxy struct {
	a           *Agent
	cfg         ProxyConfig
	trader, isv *httputil.ReverseProxy
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// traderTrip sends r with the current backend's session (after a SIGHUP
// reload, the new one's).
func (p *proxy) traderTrip(r *http.Request) (*http.Response, error) {
	return p.a.current().Manager.Transport(p.cfg.Transport).RoundTrip(r)
}

// isvTrip sends r with the current backend's ISV source.
func (p *proxy) isvTrip(r *http.Request) (*http.Response, error) {
	src := p.a.current().ISV
	if src == nil {
		return nil, ErrNoISV
	}
	return src.Transport(p.cfg.Transport, p.cfg.ParticipantID).RoundTrip(r)
}

// rewriteISV points an ISV request at the current source's API.
func (p *proxy) rewriteISV(pr *httputil.ProxyRequest) {
	if src := p.a.current().ISV; src != nil {
		if u, err := url.Parse(src.APIURL()); err == nil {
			rewrite(pr, u, u.Host)
		}
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	route := RouteTrader
	defer func() {
		if p.cfg.Observe != nil {
			p.cfg.Observe(route, rec.status(), time.Since(start))
		}
	}()
	if r.Method == http.MethodConnect {
		writeJSON(rec, http.StatusMethodNotAllowed, ErrorJSON{Error: "the proxy forwards to the exchange only; CONNECT is refused", Kind: "forbidden"})
		return
	}
	rp := p.trader
	if p.a.current().ISV != nil && strings.HasPrefix(r.URL.Path, "/v1/") {
		route, rp = RouteISV, p.isv
	} else if e := p.a.ended.Load(); e != nil {
		writeError(rec, e.err)
		return
	}
	if err := replayable(r); err != nil {
		writeJSON(rec, http.StatusBadRequest, ErrorJSON{Error: err.Error(), Kind: "other"})
		return
	}
	rp.ServeHTTP(rec, r)
}

// rewrite points the outgoing request at target with the Host header host.
func rewrite(pr *httputil.ProxyRequest, target *url.URL, host string) {
	pr.SetURL(target)
	pr.Out.Host = host
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Proxy-Authorization")
}

// replayable keeps a small body in memory with GetBody, so that the 401
// retry can send it again.
func replayable(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > MaxReplayBody || r.ContentLength < 0 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxReplayBody+1))
	r.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return nil
}

// fail answers a request that got no response: 503 without a valid token,
// 502 when the exchange could not be reached.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, session.ErrNotLoggedIn), errors.Is(err, session.ErrSessionExpired),
		errors.Is(err, session.ErrClosed), errors.Is(err, ErrNoToken):
		writeError(w, err)
	case errors.Is(err, traderapi.ErrUnreachable), errors.As(err, &ne):
		writeJSON(w, http.StatusBadGateway, ErrorJSON{Error: "the exchange could not be reached: " + err.Error(), Kind: session.KindUnavailable.String()})
	case r.Context().Err() != nil:
		writeError(w, err)
	default:
		writeJSON(w, http.StatusBadGateway, ErrorJSON{Error: err.Error(), Kind: session.Classify(err).String()})
	}
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush through the recorder.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
