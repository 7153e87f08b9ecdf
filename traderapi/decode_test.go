package traderapi_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// A JWT and a password that error bodies below carry and no error may show.
const (
	bodyJWT      = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0cmFkZXItMSJ9.c2lnbmF0dXJlLXNlY3JldA"
	bodyPassword = "hunter2-Passw0rd"
)

func TestDecodeError(t *testing.T) {
	t.Parallel()
	type want struct {
		code                 int
		errorCode, message   string
		requestID, excerpt   string
		details              int
		is                   []error
		wwwAuth, errorString string
	}
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   want
	}{
		{"grpc-gateway with details", 401,
			nil, `{"code":16,"message":"invalid username or password","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"BAD_CREDENTIALS"}]}`,
			want{code: 16, message: "invalid username or password", details: 1, is: []error{traderapi.ErrUnauthorized},
				errorString: "/x: 401 Unauthorized: invalid username or password"}},
		{"grpc-gateway permission denied", 403,
			nil, `{"code":7,"message":"permission denied: missing required scope read:positions","details":[]}`,
			want{code: 7, message: "permission denied: missing required scope read:positions", is: []error{traderapi.ErrForbidden}}},
		{"grpc otp required", 401,
			nil, `{"code":16,"message":"otp required","details":[]}`,
			want{code: 16, message: "otp required", is: []error{traderapi.ErrUnauthorized, traderapi.ErrOTPRequired}}},
		{"grpc string code", 400,
			nil, `{"code":"FAILED_PRECONDITION","message":"MFA enrollment not confirmed"}`,
			want{errorCode: "FAILED_PRECONDITION", message: "MFA enrollment not confirmed", is: nil}},
		{"oauth", 401,
			nil, `{"error":"invalid_token","error_description":"The access token expired"}`,
			want{errorCode: "invalid_token", message: "The access token expired", is: []error{traderapi.ErrUnauthorized},
				errorString: "/x: 401 Unauthorized: invalid_token: The access token expired"}},
		{"generic with error_code and request_id (seed 002)", 401,
			map[string]string{"WWW-Authenticate": `Bearer realm="Company X API"`},
			`{"error":"unauthorized","error_description":"The access token is invalid or has expired","error_code":"E-AUTH-001","timestamp":"2024-03-08T14:23:45Z","request_id":"req_xxxxxxxxxx"}`,
			want{errorCode: "unauthorized (E-AUTH-001)", message: "The access token is invalid or has expired", requestID: "req_xxxxxxxxxx",
				is: []error{traderapi.ErrUnauthorized}, wwwAuth: `Bearer realm="Company X API"`}},
		{"error and message", 401,
			nil, `{"error": "unauthorized", "message": "Invalid or expired token"}`,
			want{errorCode: "unauthorized", message: "Invalid or expired token", is: []error{traderapi.ErrUnauthorized}}},
		{"authentication_failed with numeric code (seed 002)", 401,
			nil, `{"error": "authentication_failed", "code": 401}`,
			want{code: 401, errorCode: "authentication_failed", is: []error{traderapi.ErrUnauthorized}}},
		{"numeric error_code only", 429,
			map[string]string{"Retry-After": "7"}, `{"error_code": 429}`,
			want{errorCode: "429", is: []error{traderapi.ErrRateLimited}, errorString: "/x: 429 Too Many Requests: 429 (retry after 7s)"}},
		{"nested error object", 401,
			nil, `{"error":{"code":16,"message":"otp required"}}`,
			want{code: 16, message: "otp required", is: []error{traderapi.ErrUnauthorized, traderapi.ErrOTPRequired}}},
		{"nested with string code", 503,
			nil, `{"error":{"code":"UNAVAILABLE","message":"upstream connect error"}}`,
			want{errorCode: "UNAVAILABLE", message: "upstream connect error", is: []error{traderapi.ErrUnavailable}}},
		{"WWW-Authenticate and empty body", 401,
			map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="Token has expired"`, "X-Request-Id": "abc"}, ``,
			want{excerpt: "(empty body)", requestID: "abc", is: []error{traderapi.ErrUnauthorized},
				wwwAuth: `Bearer error="invalid_token", error_description="Token has expired"`}},
		{"HTML page", 502,
			map[string]string{"Content-Type": "text/html"}, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>",
			want{excerpt: "502 Bad Gateway 502 Bad Gateway", is: []error{traderapi.ErrUnavailable}}},
		{"empty", 500, nil, "", want{excerpt: "(empty body)", is: []error{traderapi.ErrUnavailable}}},
		{"whitespace", 503, nil, " \n\t ", want{excerpt: "(empty body)", is: []error{traderapi.ErrUnavailable}}},
		{"truncated", 401, nil, `{"code":16,"message":"invalid usern`, want{excerpt: `{"code":16,"message":"invalid usern`, is: []error{traderapi.ErrUnauthorized}}},
		{"null", 400, nil, `null`, want{excerpt: "null"}},
		{"array", 400, nil, `[{"code":3}]`, want{excerpt: `[{"code":3}]`}},
		{"object without error fields", 403, nil, `{"status":"nope"}`, want{excerpt: `{"status":"nope"}`, is: []error{traderapi.ErrForbidden}}},
		{"plain text", 429, map[string]string{"Retry-After": "120"}, "slow down", want{excerpt: "slow down", is: []error{traderapi.ErrRateLimited}}},
		{"message with a JWT", 401, nil, `{"code":16,"message":"token ` + bodyJWT + ` is expired"}`,
			want{code: 16, message: "token [REDACTED] is expired", is: []error{traderapi.ErrUnauthorized}}},
		{"text with a JWT and a password", 400, nil, `bad request: Authorization ` + bodyJWT + ` {"password":"` + bodyPassword + `"`,
			want{excerpt: `bad request: Authorization [REDACTED] {"password":"[REDACTED]"`}},
		{"truncated JSON with a token", 401, nil, `{"accessToken":"` + bodyJWT[:50],
			want{excerpt: `{"accessToken":"[REDACTED]`, is: []error{traderapi.ErrUnauthorized}}},
		{"a JWT cut short in text", 502, nil, `upstream rejected ` + bodyJWT[:45],
			want{excerpt: `upstream rejected [REDACTED]`, is: []error{traderapi.ErrUnavailable}}},
		{"opaque refresh token in broken JSON", 400, nil, `{"refreshToken":"rt_abcdefghijklmnop","x":`,
			want{excerpt: `{"refreshToken":"[REDACTED]","x":`}},
		{"multi-line message", 400, nil, `{"code":3,"message":"line one\nline two\r\n\u001b[31mred"}`,
			want{code: 3, message: "line one line two [31mred"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			e := traderapi.DecodeError("/x", resp, []byte(tc.body))
			w := tc.want
			if e.Endpoint != "/x" || e.StatusCode != tc.status || e.Code != w.code || e.ErrorCode != w.errorCode || e.Message != w.message ||
				e.RequestID != w.requestID || e.BodyExcerpt != w.excerpt || len(e.Details) != w.details || e.WWWAuthenticate != w.wwwAuth {
				t.Fatalf("got  %#v\nwant %+v", e, w)
			}
			for _, s := range allSentinels {
				want := false
				for _, x := range w.is {
					want = want || x == s
				}
				if errors.Is(e, s) != want {
					t.Errorf("errors.Is(%v) = %v", s, !want)
				}
			}
			msg := e.Error()
			// A 401/403/421 ends with the diagnosis, after " — ".
			if base, _, _ := strings.Cut(msg, " — "); w.errorString != "" && base != w.errorString {
				t.Errorf("Error() = %q, want %q", msg, w.errorString)
			}
			if d := e.Diagnosis(); (tc.status == 401 || tc.status == 403) && d != "" && !strings.HasSuffix(msg, " — "+d) {
				t.Errorf("Error() = %q does not end with the diagnosis %q", msg, d)
			}
			if strings.ContainsAny(msg, "\r\n\x1b") || strings.Contains(msg, bodyPassword) || strings.Contains(msg, "eyJ") ||
				strings.Contains(msg, "abcdefghijklmnop") {
				t.Errorf("Error() shows a secret or is not one clean line: %q", msg)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value    string
		min, max time.Duration
	}{
		{"7", 7 * time.Second, 7 * time.Second},
		{" 0 ", 0, 0},
		{time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), 58 * time.Second, 61 * time.Second},
		{time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), 0, 0},
		{"-5", 0, 0},
		{"+5", 0, 0},
		{"soon", 0, 0},
		// Past what a Duration holds (292 years): the longest wait, as a
		// date that far ahead gives, never a negative one.
		{"10000000000", math.MaxInt64, math.MaxInt64},
		{"99999999999999999999999", math.MaxInt64, math.MaxInt64},
	} {
		resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {tc.value}}}
		got := traderapi.DecodeError("/x", resp, nil).RetryAfter
		if got < tc.min || got > tc.max {
			t.Errorf("Retry-After %q: %s, want %s..%s", tc.value, got, tc.min, tc.max)
		}
	}
}

// TestBodyReadIsCapped serves an endless body: the client must stop reading
// at about 1 MiB and report a malformed (or, for an error status, the
// decoded) response instead of reading on.
func TestBodyReadIsCapped(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 500} {
		var written atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			chunk := []byte(strings.Repeat(" ", 64<<10))
			for range 1024 { // 64 MiB
				n, err := w.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
		}))
		c, err := traderapi.NewClient(traderapi.Environment{Name: "x", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
		srv.CloseClientConnections()
		srv.Close()
		var apiErr *traderapi.APIError
		switch {
		case status == 200 && !errors.Is(err, traderapi.ErrMalformedResponse):
			t.Errorf("endless 200 body: %v", err)
		case status == 500 && (!errors.As(err, &apiErr) || !strings.Contains(apiErr.BodyExcerpt, "over 1 MiB")):
			t.Errorf("endless 500 body: %v", err)
		}
		if n := written.Load(); n > 16<<20 {
			t.Errorf("status %d: the server wrote %d bytes before the client stopped reading", status, n)
		}
	}
}
