package traderapitest

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// maxRecorded is how many requests [Exchange.Requests] keeps: the latest.
const maxRecorded = 1000

// Request is a request the exchange saw. Its Header and Body hold secrets
// (passwords, tokens) as sent; it prints them redacted.
type Request struct {
	Method string
	Path   string
	Host   string
	Header http.Header
	Body   []byte
	// At is the exchange clock's time when the request arrived.
	At time.Time
}

// String describes the request with every secret redacted.
func (r Request) String() string {
	return fmt.Sprintf("%s %s (Host %s) %v %s", r.Method, r.Path, r.Host,
		map[string][]string(traderapi.RedactHeader(r.Header)), traderapi.RedactJSON(r.Body))
}

// GoString is [Request.String], so that %#v redacts too.
func (r Request) GoString() string { return "traderapitest.Request{" + r.String() + "}" }

// LogValue implements [slog.LogValuer] with secrets redacted.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("method", r.Method), slog.String("path", r.Path), slog.String("host", r.Host),
		slog.Any("header", map[string][]string(traderapi.RedactHeader(r.Header))),
		slog.String("body", traderapi.RedactJSON(r.Body)), slog.Time("at", r.At))
}

// record counts and keeps a request and takes the fault and the hold armed
// for its path.
func (e *Exchange) record(r *http.Request, body []byte) (*Fault, *Hold) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[r.URL.Path]++
	if len(e.requests) == maxRecorded {
		e.requests = slices.Delete(e.requests, 0, 1)
	}
	e.requests = append(e.requests, Request{
		Method: r.Method, Path: r.URL.Path, Host: r.Host,
		Header: r.Header.Clone(), Body: body, At: e.now(),
	})
	return e.takeFault(r.URL.Path), e.takeHold(r.URL.Path)
}

// Calls returns how many requests for path the exchange has seen since it
// started or since [Exchange.ResetCounters], whatever their Host, method or
// outcome (faulted calls count).
func (e *Exchange) Calls(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[path]
}

// Requests returns a copy of the requests seen (the latest 1000), oldest
// first.
func (e *Exchange) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Request, len(e.requests))
	for i, r := range e.requests {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// LastRequest returns the latest request for path, and whether there was one.
func (e *Exchange) LastRequest(path string) (Request, bool) {
	reqs := e.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i], true
		}
	}
	return Request{}, false
}

// ResetCounters zeroes the call counters and forgets the recorded requests.
func (e *Exchange) ResetCounters() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.calls)
	e.requests = nil
}
