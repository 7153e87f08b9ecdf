package cli

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// isvTrace is the --debug trace of the isv commands: one line per token
// request and one per answer (method, URL, status, content type, time
// taken). It never writes a header or a body: the request body holds the
// client assertion, the answer the access token.
type isvTrace struct {
	w    io.Writer
	base http.RoundTripper
	mu   sync.Mutex
}

// RoundTrip implements [http.RoundTripper].
func (t *isvTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	t.printf("debug: → %s %s (%s body not shown: it holds the client assertion)",
		req.Method, req.URL.Redacted(), req.Header.Get("Content-Type"))
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	elapsed := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.printf("debug: ← no answer after %s: %v", elapsed, err)
		return nil, err
	}
	t.printf("debug: ← %s (%s) in %s", resp.Status, resp.Header.Get("Content-Type"), elapsed)
	return resp, nil
}

func (t *isvTrace) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}
