package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// recorder sits in front of a local server (the exchange, the ISV token
// service) and keeps every request and every answer's body as sent, so
// that a test knows each secret that crossed the wire: every token issued,
// even one whose answer the client never read in full. It also tells a
// test when a request on a path arrives and when its answer has been
// written.
type recorder struct {
	mu       sync.Mutex
	requests []recordedRequest
	answers  [][]byte
	watches  []*requestWatch
}

// recordedRequest is what a client sent.
type recordedRequest struct {
	header http.Header
	body   []byte
}

// requestWatch follows the next request on one path.
type requestWatch struct {
	path               string
	received, answered chan struct{}
	seen, done         bool
}

// recordedExchange is a local exchange behind a recorder.
type recordedExchange struct {
	*traderapitest.Exchange
	*recorder
	// URL is the base URL to dial.
	URL string
}

func newRecordedExchange(t *testing.T) *recordedExchange {
	t.Helper()
	ex := traderapitest.New(traderapitest.Options{})
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(ex))
	t.Cleanup(srv.Close)
	return &recordedExchange{Exchange: ex, recorder: rec, URL: srv.URL}
}

// wrap returns h behind the recorder.
func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.mu.Lock()
		r.requests = append(r.requests, recordedRequest{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		r.event(req.URL.Path, false)
		cw := &captureWriter{ResponseWriter: w}
		defer func() {
			r.mu.Lock()
			r.answers = append(r.answers, cw.body.Bytes())
			r.mu.Unlock()
			r.event(req.URL.Path, true)
		}()
		h.ServeHTTP(cw, req)
	})
}

// watch returns channels closed when the next request on path arrives and
// when its answer has been written (or abandoned).
func (r *recorder) watch(path string) *requestWatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := &requestWatch{path: path, received: make(chan struct{}), answered: make(chan struct{})}
	r.watches = append(r.watches, w)
	return w
}

func (r *recorder) event(path string, answered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := r.watches[:0]
	for _, w := range r.watches {
		switch {
		case w.path != path:
		case !answered && !w.seen:
			w.seen = true
			close(w.received)
		case answered && w.seen && !w.done:
			w.done = true
			close(w.answered)
		}
		if !w.done {
			keep = append(keep, w)
		}
	}
	r.watches = keep
}

// captureWriter copies what is written to the client; Unwrap lets the
// exchange's faults flush and hijack through it.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// secretKind is what a secret is; some outputs may hold some kinds.
type secretKind string

const (
	kindPassword     secretKind = "password"
	kindRegistration secretKind = "registration token"
	kindAccess       secretKind = "access token"
	kindRefresh      secretKind = "refresh token"
	kindTOTP         secretKind = "TOTP secret"
	kindPrivateKey   secretKind = "private key"
	kindAssertion    secretKind = "client assertion"
	// kindRedisPassword and kindRedisKey: the Redis password in
	// --redis-url, and the key of --redis-key-file.
	kindRedisPassword secretKind = "Redis password"
	kindRedisKey      secretKind = "Redis key"
)

// issuedField finds a token in an answer body, whole or cut short by a
// fault (truncated JSON, a dropped connection).
var (
	issuedField  = regexp.MustCompile(`"(accessToken|refreshToken|access_token)"\s*:\s*"([^"\\]*)`)
	issuedSecret = regexp.MustCompile(`(?:[?&]|\\u0026)secret=([A-Za-z2-7]+)`)
)

// issued returns every token and TOTP secret the exchange sent, by kind.
func (r *recorder) issued() map[string]secretKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]secretKind{}
	for _, a := range r.answers {
		for _, m := range issuedField.FindAllSubmatch(a, -1) {
			kind := kindAccess
			if string(m[1]) == "refreshToken" {
				kind = kindRefresh
			}
			out[string(m[2])] = kind
		}
		// json.Marshal writes '&' as \u0026.
		for _, m := range issuedSecret.FindAllSubmatch(a, -1) {
			out[string(m[1])] = kindTOTP
		}
	}
	return out
}

// latestTOTP returns the TOTP secret of the latest enrollment answer, or "".
func (r *recorder) latestTOTP() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.answers) - 1; i >= 0; i-- {
		if m := issuedSecret.FindSubmatch(r.answers[i]); m != nil {
			return string(m[1])
		}
	}
	return ""
}

// sent returns every secret clients sent, by kind: passwords,
// registration tokens, access and refresh tokens, client assertions.
// One-time codes are left out: they are six digits, single-use, and
// `mfa code` prints them.
func (r *recorder) sent() map[string]secretKind {
	fields := map[string]secretKind{
		"password": kindPassword, "oldPassword": kindPassword, "newPassword": kindPassword,
		"token": kindRegistration, "accessToken": kindAccess, "refreshToken": kindRefresh,
		"client_assertion": kindAssertion,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]secretKind{}
	for _, req := range r.requests {
		if a := strings.TrimPrefix(req.header.Get("Authorization"), "Bearer "); a != "" {
			out[a] = kindAccess
		}
		var body map[string]any
		if json.Unmarshal(req.body, &body) != nil {
			continue
		}
		for f, kind := range fields {
			if s, ok := body[f].(string); ok && s != "" {
				out[s] = kind
			}
		}
	}
	return out
}

// totpForms returns the ways a TOTP secret can be written: as is, in
// lower case, and in the groups of four `--show-secret` prints.
func totpForms(t *testing.T, secret string) []string {
	t.Helper()
	e, err := mfa.ParseURL("otpauth://totp/pmx:u?issuer=pmx&secret=" + secret)
	if err != nil {
		t.Fatalf("the exchange's TOTP secret does not parse: %v", err)
	}
	return []string{secret, strings.ToLower(secret), e.Secret.Reveal(), e.ManualKey()}
}
