package traderapi_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestMFAFlow enrolls, confirms with a real TOTP code and logs in, over HTTP.
func TestMFAFlow(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	s, c := setupWith(t, traderapitest.Options{Now: func() time.Time { return now }})
	ctx := t.Context()

	enr, err := c.EnrollMFA(ctx, traderapi.EnrollMFARequest{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(enr.EnrollmentURL.Reveal())
	if err != nil || key.AccountName() != user || key.Issuer() != "Polymarket Exchange" {
		t.Fatalf("enrollment URL: %v", err)
	}
	code := func(at time.Time) traderapi.Secret {
		c, err := totp.GenerateCode(key.Secret(), at)
		if err != nil {
			t.Fatal(err)
		}
		return traderapi.Secret(c)
	}

	_, err = c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: user, Password: password, OTP: "000000"})
	if !errors.Is(err, traderapi.ErrUnauthorized) || s.MFAEnabled(user) {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	if _, err := c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: user, Password: password, OTP: code(now)}); err != nil {
		t.Fatal(err)
	}
	if !s.MFAEnabled(user) {
		t.Fatal("MFA not on after confirm")
	}

	_, err = c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password})
	wantOnly(t, err, traderapi.ErrOTPRequired, traderapi.ErrUnauthorized)
	var apiErr *traderapi.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != 16 || apiErr.Message != "otp required" {
		t.Fatalf("login without otp: %#v", err)
	}
	// The code confirm_mfa used is spent for its time window (RFC 6238 §5.2).
	_, err = c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password, OTP: code(now)})
	if !errors.Is(err, traderapi.ErrUnauthorized) || !strings.Contains(err.Error(), "invalid otp") {
		t.Fatalf("login with a spent code: %v", err)
	}
	s.Advance(30 * time.Second)
	resp, err := c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password, OTP: code(now.Add(30 * time.Second))})
	if err != nil || resp.AccessToken == "" {
		t.Fatalf("login with a fresh code: %v", err)
	}
	r, _ := s.LastRequest(traderapi.PathLogin)
	if !strings.Contains(string(r.Body), `"otp":"`) {
		t.Fatal("login did not send the otp field")
	}
}
