package traderapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors to branch on with [errors.Is]. An [*APIError] matches the
// one its status and message call for.
var (
	// ErrUnauthorized: 401, the credentials or token were rejected.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403, authenticated but not allowed.
	ErrForbidden = errors.New("forbidden")
	// ErrOTPRequired: login needs a one-time password (MFA is on) or the one
	// given was rejected as missing.
	ErrOTPRequired = errors.New("one-time password required")
	// ErrRateLimited: 429; [APIError.RetryAfter] says how long to wait.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: a 5xx response.
	ErrUnavailable = errors.New("exchange unavailable")
	// ErrUnreachable: the request did not reach the exchange (DNS, TCP, TLS,
	// connection reset, timeout).
	ErrUnreachable = errors.New("exchange unreachable")
	// ErrMalformedResponse: a response the client cannot use: HTML, empty,
	// truncated or oversized, or missing a required field.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrRedirected: a 3xx answer. Calls that carry credentials never follow
	// a redirect; [APIError.Location] says where it pointed.
	ErrRedirected = errors.New("redirected")
)

// maxBody caps every response body read.
const maxBody = 1 << 20

// excerptLen caps the undecodable-body excerpt kept in an [APIError].
const excerptLen = 200

// APIError is an error response from the exchange (or from a proxy in front
// of it). It never holds a secret: what the server said is redacted by
// pattern ([RedactText]) and, for an answer to a [Client] call, every value
// that call sent is scrubbed from it ([Scrub]).
type APIError struct {
	// Endpoint is the path that was called.
	Endpoint string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the gRPC status code of a gRPC-gateway body (16 =
	// UNAUTHENTICATED, 7 = PERMISSION_DENIED), 0 if none.
	Code int
	// ErrorCode is the OAuth "error" field ("invalid_token") or the
	// "error_code" field of the generic shape.
	ErrorCode string
	// Message is "message", or else "error_description".
	Message string
	// Details are the gRPC-gateway "details", undecoded.
	Details []json.RawMessage
	// RequestID is the "request_id" field or the X-Request-Id header.
	RequestID string
	// WWWAuthenticate is the WWW-Authenticate header, as sent.
	WWWAuthenticate string
	// RetryAfter is the Retry-After header as a duration (0 if absent).
	RetryAfter time.Duration
	// BodyExcerpt is the start of a body that was not a JSON error object,
	// whitespace collapsed and secrets redacted.
	BodyExcerpt string
	// Location is, for a 3xx, the origin (scheme://host[:port]) the Location
	// header pointed to, resolved against the request's URL; its path and
	// query are dropped, as they may carry secrets.
	Location string
}

// Error returns one line: endpoint, status, what the server said and, for a
// 401, 403 or 421, the [APIError.Diagnosis].
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Message != "" && e.ErrorCode != "":
		fmt.Fprintf(&b, ": %s: %s", e.ErrorCode, e.Message)
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.ErrorCode != "":
		fmt.Fprintf(&b, ": %s", e.ErrorCode)
	case e.BodyExcerpt != "":
		fmt.Fprintf(&b, " (unexpected body: %q)", e.BodyExcerpt)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	if e.redirect() || e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
		e.StatusCode == http.StatusMisdirectedRequest {
		// What the troubleshooting guides would say, so that a bot's log
		// line already carries it.
		if d := e.Diagnosis(); d != "" {
			b.WriteString(" — " + d)
		}
	}
	return b.String()
}

// redirect reports a 3xx answer.
func (e *APIError) redirect() bool { return e.StatusCode >= 300 && e.StatusCode <= 399 }

// Is matches the sentinel errors by status and message.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrOTPRequired:
		return e.otpRequired()
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.StatusCode >= 500
	case ErrRedirected:
		return e.redirect()
	}
	return false
}

// otpRequired recognises the exchange saying that a one-time password is
// needed: a 401 whose message names an OTP or MFA.
func (e *APIError) otpRequired() bool {
	if e.StatusCode != http.StatusUnauthorized {
		return false
	}
	m := strings.ToLower(e.Message + " " + e.ErrorCode)
	return strings.Contains(m, "otp") || strings.Contains(m, "mfa") ||
		strings.Contains(m, "one-time") || strings.Contains(m, "two-factor")
}

// errorBody is the union of every error shape the documents show.
type errorBody struct {
	Code             json.RawMessage   `json:"code"`
	Message          string            `json:"message"`
	Details          []json.RawMessage `json:"details"`
	Error            json.RawMessage   `json:"error"`
	ErrorDescription string            `json:"error_description"`
	ErrorCode        json.RawMessage   `json:"error_code"`
	RequestID        string            `json:"request_id"`
}

// DecodeError turns a non-2xx response into an [*APIError]. It reads at most
// 1 MiB of the body and never fails: a body it cannot decode is kept as a
// short, redacted excerpt.
func DecodeError(endpoint string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Endpoint:        endpoint,
		StatusCode:      resp.StatusCode,
		WWWAuthenticate: resp.Header.Get("WWW-Authenticate"),
		RetryAfter:      parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		RequestID:       oneLine(firstHeader(resp.Header, "X-Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id")),
	}
	if e.redirect() {
		// A redirect's body only repeats the Location, path and query too.
		e.Location = locationOrigin(resp)
		return e
	}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || !eb.hasAny() {
		e.BodyExcerpt = Excerpt(body)
		return e
	}
	e.Code, e.ErrorCode = decodeCode(eb.Code)
	e.Message = eb.Message
	e.Details = eb.Details
	if s := jsonString(eb.Error); s != "" {
		// OAuth {"error": "invalid_token"} or generic {"error": "unauthorized"}.
		e.ErrorCode = s
	} else if len(eb.Error) > 0 && eb.Error[0] == '{' {
		// {"error": {"code": ..., "message": ...}} as some gateways send.
		var inner errorBody
		if json.Unmarshal(eb.Error, &inner) == nil {
			c, s := decodeCode(inner.Code)
			e.Code = max(e.Code, c)
			e.ErrorCode = cmpOr(e.ErrorCode, s)
			e.Message = cmpOr(e.Message, inner.Message)
		}
	}
	if ec := jsonString(eb.ErrorCode); ec != "" {
		e.ErrorCode = cmpOr(e.ErrorCode, ec)
		if e.ErrorCode != ec {
			e.ErrorCode += " (" + ec + ")"
		}
	}
	if e.Message == "" {
		e.Message = eb.ErrorDescription
	}
	e.RequestID = oneLine(cmpOr(eb.RequestID, e.RequestID))
	e.Message = oneLine(RedactText(e.Message))
	e.ErrorCode = oneLine(RedactText(e.ErrorCode))
	return e
}

// locationOrigin is the origin a redirect's Location header points to,
// resolved against the request's URL, or "(no Location)".
func locationOrigin(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "(no Location)"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(an unparsable Location)"
	}
	if resp.Request != nil && resp.Request.URL != nil {
		u = resp.Request.URL.ResolveReference(u)
	}
	if u.Host == "" {
		return "(a Location without a host)"
	}
	return oneLine((&url.URL{Scheme: u.Scheme, Host: u.Host}).String())
}

// maxMessage caps the server text an [APIError] keeps in one field.
const maxMessage = 300

// oneLine makes server text fit a one-line error: invalid UTF-8 and
// control characters (newlines, terminal escapes) become spaces, runs of
// spaces collapse, and it is cut at 300 bytes.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "") + "…"
	}
	return s
}

func (b errorBody) hasAny() bool {
	return len(b.Code) > 0 || b.Message != "" || len(b.Error) > 0 || b.ErrorDescription != "" || len(b.ErrorCode) > 0
}

// decodeCode reads a "code" that is a number (gRPC) or a string.
func decodeCode(raw json.RawMessage) (int, string) {
	if len(raw) == 0 {
		return 0, ""
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, ""
	}
	return 0, jsonString(raw)
}

func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) > 0 && raw[0] != '{' && raw[0] != '[' && raw[0] != '"' && string(raw) != "null" {
		return string(raw) // a bare number such as {"error_code": 401}
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// parseRetryAfter reads Retry-After as seconds (digits only; beyond what a
// Duration holds, the longest Duration) or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if n > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64 // the longest wait, as Time.Sub gives for a date that far ahead
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// Excerpt returns the start of a body for an error message: tags of an HTML
// page dropped, whitespace collapsed, secrets redacted, at most 200 bytes.
func Excerpt(body []byte) string {
	s := string(body)
	if len(s) > 4*excerptLen {
		s = s[:4*excerptLen]
	}
	if strings.Contains(strings.ToLower(s), "<html") || strings.HasPrefix(strings.TrimSpace(s), "<") {
		s = stripTags(s)
	}
	s = RedactText(oneLine(s))
	if len(s) > excerptLen {
		s = strings.ToValidUTF8(s[:excerptLen], "") + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}
