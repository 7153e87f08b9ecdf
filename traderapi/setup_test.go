package traderapi_test

import (
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// The user every test's exchange starts with.
const (
	user     = "trader-1"
	password = traderapi.Secret("s3cure-Passw0rd!")
)

// setup starts a local exchange with one user and returns it with a client
// wired to it; both go away when the test ends.
func setup(t *testing.T, opts ...traderapi.Option) (*traderapitest.Server, *traderapi.Client) {
	t.Helper()
	return setupWith(t, traderapitest.Options{}, opts...)
}

// setupWith is setup with exchange options.
func setupWith(t *testing.T, eo traderapitest.Options, opts ...traderapi.Option) (*traderapitest.Server, *traderapi.Client) {
	t.Helper()
	s := traderapitest.NewServer(eo)
	t.Cleanup(s.Close)
	if err := s.AddUser(user, password.Reveal()); err != nil {
		t.Fatal(err)
	}
	c, err := s.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// login logs the test user in and fails the test on an error.
func login(t *testing.T, c *traderapi.Client) *traderapi.LoginResponse {
	t.Helper()
	resp, err := c.Login(t.Context(), traderapi.LoginRequest{Username: user, Password: password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return resp
}
