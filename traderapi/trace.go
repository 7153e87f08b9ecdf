package traderapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// tracer writes the redacted debug trace. A nil tracer writes nothing.
type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *tracer) request(req *http.Request, body []byte, secrets []Secret) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "> %s %s\n> Host: %s\n", req.Method, req.URL.Redacted(), req.Host)
	writeHeader(t.w, "> ", req.Header)
	if len(body) > 0 {
		fmt.Fprintf(t.w, "> %s\n", Scrub(RedactJSON(body), secrets...))
	}
}

func (t *tracer) response(resp *http.Response, body []byte, took time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "< %s %s (%s)\n", resp.Proto, resp.Status, took.Round(time.Millisecond))
	writeHeader(t.w, "< ", resp.Header)
	if len(body) > 0 {
		if len(body) > 4096 {
			fmt.Fprintf(t.w, "< (%d bytes) %s\n", len(body), Excerpt(body))
		} else {
			fmt.Fprintf(t.w, "< %s\n", RedactJSON(body))
		}
	}
}

func writeHeader(w io.Writer, prefix string, h http.Header) {
	h = RedactHeader(h)
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, k, v)
		}
	}
}
