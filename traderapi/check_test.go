package traderapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestCheckResponseDiagnoses: a trading call with a "Bearer " prefix gets a
// 401 whose error already says what the guide would: drop the prefix.
func TestCheckResponseDiagnoses(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser("trader1", "correct-horse-42-battery"); err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	login, err := c.Login(t.Context(), traderapi.LoginRequest{Username: "trader1", Password: "correct-horse-42-battery"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(auth string) *http.Response {
		req, err := c.NewRequest(t.Context(), http.MethodPost, traderapi.PathInsertOrder, strings.NewReader(`{"symbol":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if err := traderapi.CheckResponse(send(login.AccessToken.Reveal())); err != nil {
		t.Fatalf("raw token: %v", err)
	}
	err = traderapi.CheckResponse(send("Bearer " + login.AccessToken.Reveal()))
	var ae *traderapi.APIError
	if !errors.As(err, &ae) || !errors.Is(err, traderapi.ErrUnauthorized) || ae.Endpoint != traderapi.PathInsertOrder {
		t.Fatalf("Bearer prefix: %v, want a 401 APIError for insert_order", err)
	}
	if !strings.Contains(err.Error(), `without a "Bearer " prefix`) {
		t.Fatalf("the error does not carry the diagnosis: %v", err)
	}
	if strings.Contains(err.Error(), login.AccessToken.Reveal()) {
		t.Fatalf("the error shows the token")
	}
}
