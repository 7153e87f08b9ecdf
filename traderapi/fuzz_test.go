package traderapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// FuzzDecodeError feeds the error decoder any status, header value and
// body: it must not panic, and Error() must be one line that shows no JWT.
func FuzzDecodeError(f *testing.F) {
	for _, seed := range []struct {
		status int
		header string
		body   string
	}{
		{401, `Bearer error="invalid_token"`, `{"code":16,"message":"otp required","details":[]}`},
		{401, "", `{"error":"unauthorized","error_description":"expired","error_code":"E-AUTH-001","request_id":"req_1"}`},
		{401, "", `{"error": "authentication_failed", "code": 401}`},
		{503, "7", `{"error":{"code":14,"message":"unavailable"}}`},
		{429, "Wed, 21 Oct 2015 07:28:00 GMT", `<html><title>429</title></html>`},
		{400, "", `{"code":"x","message":"a\nb","error_code":[1],"details":{}}`},
		{500, "", "\xff\xfe{"},
		{502, "", `{"message":"` + bodyJWT + `"}`},
		{0, "", ""},
	} {
		f.Add(seed.status, seed.header, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, header string, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{
			"Retry-After":      {header},
			"Www-Authenticate": {header},
			"X-Request-Id":     {header},
		}}
		e := traderapi.DecodeError(traderapi.PathLogin, resp, body)
		msg := e.Error()
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("Error() is not one line: %q", msg)
		}
		if strings.Contains(e.Message+e.BodyExcerpt+e.ErrorCode, bodyJWT) {
			t.Fatalf("a JWT got through: %q", msg)
		}
		if len(e.BodyExcerpt) > 220 || e.RetryAfter < 0 {
			t.Fatalf("excerpt of %d bytes, RetryAfter %s", len(e.BodyExcerpt), e.RetryAfter)
		}
		if !utf8.ValidString(msg) {
			t.Fatalf("Error() is not valid UTF-8: %q", msg)
		}
	})
}

// FuzzLoginResponse has a real local exchange answer login with any status
// and body: the client must not panic, must return either a usable token
// pair or an error matching one of the sentinels, on one line.
func FuzzLoginResponse(f *testing.F) {
	s := traderapitest.NewServer(traderapitest.Options{})
	defer s.Close()
	c, err := s.Client()
	if err != nil {
		f.Fatal(err)
	}
	statuses := []int{200, 201, 400, 401, 403, 404, 429, 500, 502, 503}
	for _, body := range []string{
		`{"accessToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","refreshToken":"rt","accessIssueTime":"2025-01-15T10:00:00Z","accessExpirationTime":"2025-01-15T11:00:00Z","refreshIssueTime":"2025-01-15T10:00:00Z","refreshExpirationTime":"2025-01-22T10:00:00Z"}`,
		`{"accessToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0","refreshToken":"rt"}`,
		`{"accessToken":"a","refreshToken":"r","extra":{"nested":[1,2]}}`,
		`{"accessToken":"a","refreshToken":"r","accessIssueTime":"not a time"}`,
		`{"accessToken":12}`,
		`{"error":"invalid_grant"}`,
		`{"code":16,"message":"otp required"}`,
		`<html>502</html>`,
		``,
	} {
		f.Add(0, []byte(body))
		f.Add(3, []byte(body))
	}
	sentinels := []error{
		traderapi.ErrUnauthorized, traderapi.ErrForbidden, traderapi.ErrOTPRequired, traderapi.ErrRateLimited,
		traderapi.ErrUnavailable, traderapi.ErrMalformedResponse,
	}
	f.Fuzz(func(t *testing.T, statusIndex int, body []byte) {
		status := statuses[(statusIndex%len(statuses)+len(statuses))%len(statuses)]
		s.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: status, Body: body})
		resp, err := c.Login(t.Context(), traderapi.LoginRequest{Username: "u", Password: "p"})
		if err == nil {
			if status >= 300 || resp.AccessToken == "" || resp.RefreshToken == "" || resp.ReceivedAt.IsZero() {
				t.Fatalf("status %d: success without a usable token pair: %+v", status, resp)
			}
			return
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("error is not one line: %q", err)
		}
		var apiErr *traderapi.APIError
		matched := errors.As(err, &apiErr) // any status, even an unexpected 4xx
		for _, s := range sentinels {
			matched = matched || errors.Is(err, s)
		}
		if !matched {
			t.Fatalf("status %d: error %q (%T) is neither an APIError nor a sentinel", status, err, err)
		}
		if status < 300 && !errors.Is(err, traderapi.ErrMalformedResponse) && apiErr == nil {
			t.Fatalf("status %d: %v", status, err)
		}
	})
}
