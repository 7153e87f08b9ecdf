package isv

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestHasScopeReadsTheToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{}, "read:orders", "write:orders")
	tok := mustToken(t, tb.source(t))
	if !isvkit.HasScope(tok, "write:orders") || !isvkit.HasScope(tok, "read:orders") {
		t.Fatal("granted scopes not found")
	}
	if isvkit.HasScope(tok, "read:positions") || isvkit.HasScope(tok, "write") || isvkit.HasScope(tok, "") {
		t.Fatal("a scope not granted was found")
	}
	if isvkit.HasScope("opaque-token", "read:orders") {
		t.Fatal("an opaque token has scopes")
	}
}

func TestAsScopeError(t *testing.T) {
	t.Parallel()
	scopeErr := &traderapi.APIError{Endpoint: "/v1/positions", StatusCode: 403, Code: 7,
		Message: "permission denied: missing required scope read:positions"}
	se, ok := asScopeError(scopeErr)
	if !ok || se.Scope != "read:positions" || se.Endpoint != "/v1/positions" {
		t.Fatalf("asScopeError = %#v, %v", se, ok)
	}
	if !errors.Is(se, traderapi.ErrForbidden) || !errors.Is(se, scopeErr) {
		t.Fatal("ScopeError does not match ErrForbidden and its APIError")
	}
	// gRPC code 7 through a gateway that answers 200 is still recognised.
	if se, ok := asScopeError(&traderapi.APIError{StatusCode: 200, Code: 7, Message: scopeErr.Message}); !ok || se.Scope != "read:positions" {
		t.Fatal("code 7 not recognised")
	}
	for _, err := range []error{
		&traderapi.APIError{StatusCode: 403, Message: "IP not allowlisted"},
		&traderapi.APIError{StatusCode: 401, Message: "permission denied: missing required scope x"},
		&traderapi.APIError{StatusCode: 403, Message: "permission denied: missing required scope "},
		errors.New("permission denied: missing required scope read:x"),
	} {
		if _, ok := asScopeError(err); ok {
			t.Errorf("asScopeError(%v) recognised a scope error", err)
		}
	}
	resp := &http.Response{StatusCode: 200, Request: &http.Request{}}
	if CheckResponse(resp) != nil {
		t.Error("CheckResponse(200) is an error")
	}
}

// TestCheckResponseTakesAnyResponse: a response built by hand (no Request,
// as a test double or a custom transport may give) is judged the way
// traderapi.CheckResponse judges it, not a panic.
func TestCheckResponseTakesAnyResponse(t *testing.T) {
	t.Parallel()
	body := `{"code":7,"message":"permission denied: missing required scope read:positions"}`
	resp := &http.Response{StatusCode: 403, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
	se, ok := errors.AsType[*ScopeError](CheckResponse(resp))
	if !ok || se.Scope != "read:positions" {
		t.Fatalf("CheckResponse = %v, want a ScopeError for read:positions", se)
	}
	resp = &http.Response{StatusCode: 502, Body: io.NopCloser(strings.NewReader("<html>bad gateway</html>"))}
	if _, ok := errors.AsType[*traderapi.APIError](CheckResponse(resp)); !ok {
		t.Fatal("a 502 is not an APIError")
	}
}
