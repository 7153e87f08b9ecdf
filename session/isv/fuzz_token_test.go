package isv

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// FuzzDecodeToken feeds any status and body to the token endpoint's
// decoder: it never panics, a success always has a token and a positive
// lifetime, and a failure is a typed error of one line.
func FuzzDecodeToken(f *testing.F) {
	f.Add(200, `{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzY29wZSI6InJlYWQ6b3JkZXJzIn0.c2ln","token_type":"Bearer","expires_in":180}`)
	f.Add(200, `{"access_token":"x","expires_in":"60"}`)
	f.Add(200, `{"error":"invalid_client","error_description":"bad signature"}`)
	f.Add(401, `{"error":"invalid_client_assertion","error_description":"jti reused"}`)
	f.Add(200, `<html>502</html>`)
	f.Add(200, `{"access_token":"x","expires_in":-1}`)
	// Lifetimes past what a Duration holds (292 years).
	f.Add(200, `{"access_token":"x","expires_in":1e12}`)
	f.Add(200, `{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjEsImV4cCI6OTIyMzM3MjAzNjg1NDc3NTgwN30.c2ln"}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		g, err := decodeToken("/oauth/token", resp, []byte(body))
		if err != nil {
			var te *TokenError
			var me *traderapi.MalformedError
			redirect := status >= 300 && status < 400 && errors.Is(err, traderapi.ErrRedirected)
			if !errors.As(err, &te) && !errors.As(err, &me) && !redirect {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err.Error())
			}
			return
		}
		if g.token == "" || g.lifetime <= 0 {
			t.Fatalf("success with a token of %d bytes and a lifetime of %s", len(g.token), g.lifetime)
		}
	})
}
