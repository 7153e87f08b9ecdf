package traderapitest

import (
	"bytes"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AnyPath, given to [Exchange.InjectFault], arms a fault for every path that
// has no fault of its own.
const AnyPath = "*"

// Fault is a failure to inject on an endpoint's next calls. Latency delays
// whatever is answered; then the first that applies of Reset, Redirect,
// Body, HTML, Status (or RetryAfter) replaces the exchange's answer; otherwise the
// exchange answers for real (the call's effects, such as issued tokens,
// stand). GarbledToken, TruncatedJSON, Oversized and SlowBody then damage
// whichever answer is sent.
type Fault struct {
	// Status is the HTTP status to answer with. Without HTML or Body the
	// body is the gRPC-gateway JSON {"code","message","details"}.
	Status int
	// Code is the gRPC code of that body; default by status: 400→3, 401→16,
	// 403→7, 404→5, 409→6, 429→8, 5xx→14, else 2.
	Code int
	// Message is that body's message; default the status text.
	Message string
	// Latency delays the answer (cut short if the client goes away).
	Latency time.Duration
	// Reset closes the TCP connection with a RST and answers nothing.
	Reset bool
	// Redirect answers Status (default 307 Temporary Redirect; 301, 302,
	// 303 and 308 work too) with Redirect as the Location header, as a proxy
	// sending the client elsewhere would; the call is not applied. It is
	// sent as given: add the path to redirect to the same path elsewhere.
	Redirect string
	// HTML answers an HTML page, as a proxy in front of the exchange does:
	// with Status, or 200 if Status is 0.
	HTML bool
	// TruncatedJSON cuts the real answer's body in half, with a matching
	// Content-Length, so the client sees bad JSON rather than a short read.
	TruncatedJSON bool
	// RetryAfter is sent as the Retry-After header; alone it means a 429.
	RetryAfter string
	// SlowBody sends the headers at once and dribbles the body over this
	// long.
	SlowBody time.Duration
	// GarbledToken cuts the answer's accessToken to its first two JWT parts.
	GarbledToken bool
	// Oversized puts 1 MiB of whitespace in front of the body (still valid
	// JSON), past the client's read cap.
	Oversized bool
	// Body, when not nil, is the whole body, sent with Status (or 200) and
	// ContentType (or application/json).
	Body        []byte
	ContentType string
	// Header holds extra response headers (WWW-Authenticate, X-Request-Id…).
	Header http.Header
	// Times is how many calls the fault applies to before it disarms; 0
	// means until [Exchange.ClearFaults].
	Times int
}

// armedFault is a fault with the number of calls it has left.
type armedFault struct {
	f    Fault
	left int
}

// InjectFault arms f for the calls to path (such as traderapi.PathLogin, or
// [AnyPath]), replacing any fault armed there. Faulted calls still count in
// [Exchange.Calls] and [Exchange.Requests].
func (e *Exchange) InjectFault(path string, f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[path] = &armedFault{f: f, left: f.Times}
}

// ClearFaults disarms every fault.
func (e *Exchange) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.faults)
}

// takeFault returns the fault armed for path, counting the call against it;
// e.mu must be held.
func (e *Exchange) takeFault(path string) *Fault {
	key := path
	a, ok := e.faults[key]
	if !ok {
		key = AnyPath
		if a, ok = e.faults[key]; !ok {
			return nil
		}
	}
	if a.left > 0 {
		if a.left--; a.left == 0 {
			delete(e.faults, key)
		}
	}
	f := a.f
	return &f
}

// serveFault answers a call under fault f; real answers it for real. hold,
// if any, pauses it before anything is written.
func (e *Exchange) serveFault(w http.ResponseWriter, r *http.Request, f Fault, hold *Hold, real func() reply) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	if f.Reset {
		if hold.wait(r) {
			resetConnection(w)
		}
		return
	}
	var rep reply
	switch {
	case f.Redirect != "":
		rep = redirectReply(cmpInt(f.Status, http.StatusTemporaryRedirect), f.Redirect)
	case f.Body != nil:
		rep = reply{status: cmpInt(f.Status, http.StatusOK), header: http.Header{}, body: f.Body}
		rep.header.Set("Content-Type", cmpOr(f.ContentType, "application/json"))
	case f.HTML:
		rep = htmlPage(cmpInt(f.Status, http.StatusOK))
	case f.Status != 0 || f.RetryAfter != "":
		status := cmpInt(f.Status, http.StatusTooManyRequests)
		rep = rpcError(status, cmpInt(f.Code, defaultCode(status)), cmpOr(f.Message, http.StatusText(status)))
	default:
		rep = real()
	}
	rep.body = damage(rep.body, f)
	for k, v := range f.Header {
		rep.header[k] = v
	}
	if f.RetryAfter != "" {
		rep.header.Set("Retry-After", f.RetryAfter)
	}
	if !hold.wait(r) {
		return
	}
	if f.SlowBody > 0 {
		dribble(w, r, rep, f.SlowBody)
		return
	}
	writeReply(w, rep)
}

// damage applies the body faults to a real answer.
func damage(body []byte, f Fault) []byte {
	if f.GarbledToken {
		var m map[string]json.RawMessage
		var tok string
		if json.Unmarshal(body, &m) == nil && json.Unmarshal(m["accessToken"], &tok) == nil {
			parts := strings.SplitN(tok, ".", 3)
			m["accessToken"], _ = json.Marshal(strings.Join(parts[:min(2, len(parts))], "."))
			body, _ = json.Marshal(m)
		}
	}
	if f.TruncatedJSON {
		body = body[:len(body)/2]
	}
	if f.Oversized {
		body = append(bytes.Repeat([]byte(" "), 1<<20), body...)
	}
	return body
}

// defaultCode is the gRPC code the gateway pairs with an HTTP status.
func defaultCode(status int) int {
	switch {
	case status == http.StatusBadRequest:
		return codeInvalidArgument
	case status == http.StatusUnauthorized:
		return codeUnauthenticated
	case status == http.StatusForbidden:
		return codePermissionDenied
	case status == http.StatusNotFound:
		return codeNotFound
	case status == http.StatusConflict:
		return codeAlreadyExists
	case status == http.StatusTooManyRequests:
		return codeResourceExhausted
	case status >= 500:
		return codeUnavailable
	}
	return 2 // UNKNOWN
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// htmlPage is the page a proxy or load balancer answers with.
func htmlPage(status int) reply {
	title := strconv.Itoa(status) + " " + http.StatusText(status)
	if status == http.StatusOK {
		title = "502 Bad Gateway" // a proxy's error page served with 200
	}
	h := http.Header{}
	h.Set("Content-Type", "text/html")
	return reply{status: status, header: h, body: []byte("<html>\r\n<head><title>" + title +
		"</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n")}
}

// redirectReply is a redirect to location, with the short HTML body
// net/http's Redirect writes.
func redirectReply(status int, location string) reply {
	h := http.Header{}
	h.Set("Location", location)
	h.Set("Content-Type", "text/html; charset=utf-8")
	return reply{status: status, header: h, body: []byte("<a href=\"" + html.EscapeString(location) + "\">" +
		http.StatusText(status) + "</a>.\n")}
}

// resetConnection closes the client's connection with a TCP RST.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http's way to drop a connection it will not hand over
	}
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok { // TLS
		conn = nc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// dribble writes the headers at once and the body in ten pieces over d.
func dribble(w http.ResponseWriter, r *http.Request, rep reply, d time.Duration) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	const pieces = 10
	step := max(1, (len(rep.body)+pieces-1)/pieces)
	for i := 0; i < len(rep.body); i += step {
		t := time.NewTimer(d / pieces)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		_, _ = w.Write(rep.body[i:min(i+step, len(rep.body))])
		_ = rc.Flush()
	}
}
