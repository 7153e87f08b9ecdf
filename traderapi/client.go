package traderapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultUserAgent is sent when no [WithUserAgent] option is given.
const DefaultUserAgent = "pmx-login"

// Client calls the v1beta1 auth endpoints of one environment. It is safe for
// concurrent use. Create it with [NewClient].
type Client struct {
	env       Environment
	hc        *http.Client
	auth      *http.Client // hc that follows no redirect, for the auth calls
	userAgent string
	debug     *tracer
	now       func() time.Time
}

// Option configures a [Client]. Options validate their input.
type Option func(*Client) error

// WithHTTPClient sets the HTTP client; the default is a client with a 30 s
// timeout over [http.DefaultTransport]. The auth calls send through a
// shallow copy of it, taken by [NewClient], that follows no redirect (see
// [NoRedirects]); hc itself is not changed.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("traderapi: WithHTTPClient: nil client")
		}
		c.hc = hc
		return nil
	}
}

// WithBaseURL overrides the environment's base URL (the address dialled).
// [NewClient] accepts https, and plain http only to a loopback host (see
// [RequireHTTPS]).
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		c.env.BaseURL = strings.TrimRight(u, "/")
		return nil
	}
}

// WithHost overrides the Host header sent on every request.
func WithHost(h string) Option {
	return func(c *Client) error {
		c.env.Host = h
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return fmt.Errorf("traderapi: WithUserAgent: %q is not a valid header value", ua)
		}
		c.userAgent = ua
		return nil
	}
}

// WithDebug writes a trace of every request and response to w, with every
// secret (passwords, tokens, OTP codes, enrollment URLs, the Authorization
// header) redacted, by pattern and, for the values the call sent, by value
// (see [Scrub]). Writes are serialised.
func WithDebug(w io.Writer) Option {
	return func(c *Client) error {
		if w != nil {
			c.debug = &tracer{w: w}
		}
		return nil
	}
}

// WithTLSServerName makes TLS verify the certificate for name instead of the
// dialled host. It is an option, not the default: like curl -H Host:, the
// client verifies the name it dials. It needs an [*http.Transport].
func WithTLSServerName(name string) Option {
	return func(c *Client) error {
		base := c.hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		t, ok := base.(*http.Transport)
		if !ok {
			return errors.New("traderapi: WithTLSServerName needs an *http.Transport; give it before WithHTTPClient or set TLSClientConfig yourself")
		}
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.ServerName = name
		hc := *c.hc
		hc.Transport = t
		c.hc = &hc
		return nil
	}
}

// Now reads the client's clock ([WithClock]); a session.Manager over the
// client uses it too unless its Config names another.
func (c *Client) Now() time.Time { return c.now() }

// WithClock sets the clock that stamps [LoginResponse.SentAt] and
// [LoginResponse.ReceivedAt] (and those of [RefreshResponse]); the default
// is [time.Now]. A clock that keeps the monotonic reading keeps the
// session immune to wall-clock jumps.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("traderapi: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// NewClient returns a client for env with the options applied.
func NewClient(env Environment, opts ...Option) (*Client, error) {
	c := &Client{
		env:       env,
		hc:        &http.Client{Timeout: 30 * time.Second},
		userAgent: DefaultUserAgent,
		now:       time.Now,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.env.BaseURL = strings.TrimRight(c.env.BaseURL, "/")
	if err := c.env.validate(); err != nil {
		return nil, err
	}
	c.auth = NoRedirects(c.hc)
	return c, nil
}

// Environment returns the environment the client talks to, overrides applied.
func (c *Client) Environment() Environment { return c.env }

// HTTPClient returns the HTTP client the client sends with.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// NewRequest returns a request for path on the environment's base URL with
// the Host override applied, for calling other endpoints (such as trading
// ones) through an authorizing transport.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.env.BaseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("traderapi: %s: %w", path, err)
	}
	if c.env.Host != "" {
		req.Host = c.env.Host
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// post sends in as JSON to path and decodes a 2xx response into out.
// authorization, when set, is sent raw as the Authorization header. It
// returns the local times right before the request was sent and when the
// response headers arrived. Every secret the call sends is scrubbed, by
// value, from the error and the trace.
func (c *Client) post(ctx context.Context, path string, authorization Secret, in, out any) (sent, received time.Time, err error) {
	body, err := json.Marshal(in)
	if err != nil {
		return sent, received, fmt.Errorf("traderapi: %s: encode request: %w", path, err)
	}
	req, err := c.NewRequest(ctx, http.MethodPost, path, bytes.NewReader(body))
	if err != nil {
		return sent, received, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization.Reveal())
	}
	secrets := secretsOf(in, authorization)
	c.debug.request(req, body, secrets)
	sent = c.now()
	resp, err := c.auth.Do(req)
	if err != nil {
		return sent, received, c.transportError(ctx, path, err)
	}
	defer resp.Body.Close()
	received = c.now()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	scrubHeader(resp.Header, secrets)
	c.debug.response(resp, scrubBytes(data, secrets), received.Sub(sent))
	if err != nil {
		return sent, received, c.transportError(ctx, path, fmt.Errorf("reading the response: %w", err))
	}
	return sent, received, scrubError(c.decode(path, resp, data, out, secrets), secrets)
}

// decode turns a response into out or an error. Errors quote data with
// secrets scrubbed; out gets it as sent.
func (c *Client) decode(path string, resp *http.Response, data []byte, out any, secrets []Secret) error {
	quoted := func() []byte { return scrubBytes(data, secrets) }
	if len(data) > maxBody {
		if resp.StatusCode >= 300 {
			e := DecodeError(path, resp, nil)
			e.BodyExcerpt = "(body over 1 MiB, not read)"
			return e
		}
		return malformed(path, resp.StatusCode, "the body is over 1 MiB")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return DecodeError(path, resp, quoted())
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		if _, ok := out.(*Result); ok {
			return nil // an undocumented endpoint answering 2xx with no body
		}
		return malformed(path, resp.StatusCode, "the body is empty")
	}
	if trimmed[0] != '{' {
		return malformed(path, resp.StatusCode, "expected a JSON object, got "+describe(resp, quoted()))
	}
	var eb errorBody
	if json.Unmarshal(trimmed, &eb) == nil && jsonString(eb.Error) != "" {
		return DecodeError(path, resp, quoted()) // a 2xx carrying an error is a failure
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return malformed(path, resp.StatusCode, "the JSON does not decode ("+jsonProblem(err)+")")
	}
	if v, ok := out.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return malformed(path, resp.StatusCode, err.Error())
		}
	}
	return nil
}

// transportError wraps a failure to reach the exchange; a cancelled or
// expired context is reported as such.
func (c *Client) transportError(ctx context.Context, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("traderapi: %s: %w", path, ctxErr)
	}
	return &NetError{Endpoint: path, Err: err}
}

// NetError is a failure to reach the exchange or to read its answer. It
// matches [ErrUnreachable].
type NetError struct {
	Endpoint string
	Err      error
}

// Error names the endpoint and the network failure.
func (e *NetError) Error() string {
	return fmt.Sprintf("%s: exchange unreachable: %v", e.Endpoint, e.Err)
}

// Unwrap returns the underlying network error.
func (e *NetError) Unwrap() error { return e.Err }

// Is matches [ErrUnreachable].
func (e *NetError) Is(target error) bool { return target == ErrUnreachable }

// MalformedError is a response the client cannot use. It matches
// [ErrMalformedResponse].
type MalformedError struct {
	Endpoint   string
	StatusCode int
	Reason     string
}

// Error names the endpoint, the status and what was wrong with the body.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("%s: malformed response (HTTP %d): %s; is the base URL an exchange endpoint?", e.Endpoint, e.StatusCode, e.Reason)
}

// Is matches [ErrMalformedResponse].
func (e *MalformedError) Is(target error) bool { return target == ErrMalformedResponse }

func malformed(path string, status int, reason string) error {
	return &MalformedError{Endpoint: path, StatusCode: status, Reason: reason}
}

// describe names what a non-JSON body looks like, for an error message.
func describe(resp *http.Response, data []byte) string {
	ct := resp.Header.Get("Content-Type")
	if strings.Contains(ct, "html") || bytes.Contains(bytes.ToLower(data[:min(len(data), 512)]), []byte("<html")) {
		return "an HTML page: " + Excerpt(data)
	}
	return fmt.Sprintf("%q", Excerpt(data))
}

// jsonProblem describes a JSON decoding error without quoting the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d; truncated?", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q is not a %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return "a time is not RFC 3339"
	}
	return "invalid JSON"
}
