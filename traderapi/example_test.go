package traderapi_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Logging in against the local exchange, then refreshing and logging out.
func Example() {
	s := traderapitest.NewServer(traderapitest.Options{})
	defer s.Close()
	_ = s.AddUser("trader-1", "s3cure-Passw0rd!")
	c, err := s.Client()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	tok, err := c.Login(ctx, traderapi.LoginRequest{Username: "trader-1", Password: "s3cure-Passw0rd!"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("access token:", tok.AccessToken, "valid for", tok.AccessExpirationTime.Sub(tok.AccessIssueTime))

	ref, err := c.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: tok.RefreshToken})
	fmt.Println("refreshed:", err == nil && ref.AccessToken != tok.AccessToken)

	err = c.Logout(ctx, traderapi.LogoutRequest{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
	fmt.Println("logged out:", err == nil)
	// Output:
	// access token: [REDACTED] valid for 1h0m0s
	// refreshed: true
	// logged out: true
}

// Telling "a one-time password is needed" apart from other failures.
func ExampleErrOTPRequired() {
	s := traderapitest.NewServer(traderapitest.Options{})
	defer s.Close()
	_ = s.AddUser("trader-1", "s3cure-Passw0rd!")
	_, _ = s.EnableMFA("trader-1")
	c, _ := s.Client()

	_, err := c.Login(context.Background(), traderapi.LoginRequest{Username: "trader-1", Password: "s3cure-Passw0rd!"})
	switch {
	case errors.Is(err, traderapi.ErrOTPRequired):
		fmt.Println("ask for a code:", err)
	case err != nil:
		fmt.Println("failed:", err)
	}
	// Output:
	// ask for a code: /auth/v1beta1/login: 401 Unauthorized: otp required — the account has MFA on: the login needs a current one-time code
}
