package session_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestLoginWithMFA: once MFA is on, login without a code is ErrOTPRequired,
// with a code it works, and a resumed session still knows MFA is on.
func TestLoginWithMFA(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	enr, err := f.client.EnrollMFA(t.Context(), traderapi.EnrollMFARequest{Username: testUser, Password: testPassword})
	if err != nil {
		t.Fatalf("EnrollMFA: %v", err)
	}
	key, err := otp.NewKeyFromURL(enr.EnrollmentURL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) traderapi.Secret {
		c, err := totp.GenerateCode(key.Secret(), at)
		if err != nil {
			t.Fatal(err)
		}
		return traderapi.Secret(c)
	}
	if _, err := f.client.ConfirmMFA(t.Context(), traderapi.ConfirmMFARequest{Username: testUser, Password: testPassword, OTP: code(time.Now())}); err != nil {
		t.Fatalf("ConfirmMFA: %v", err)
	}
	if err := f.m.Login(t.Context(), testUser, testPassword, ""); !errors.Is(err, traderapi.ErrOTPRequired) {
		t.Fatalf("Login without a code = %v, want ErrOTPRequired", err)
	}
	// The code of the confirm window was used; the next window's is fresh.
	if err := f.m.Login(t.Context(), testUser, testPassword, code(time.Now().Add(30*time.Second))); err != nil {
		t.Fatalf("Login with a code: %v", err)
	}
	if !f.m.Status().MFA {
		t.Errorf("Status().MFA = false after an OTP login")
	}
	m2, _ := session.New(session.Config{Client: f.client, Store: f.store})
	if err := m2.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !m2.Status().MFA {
		t.Errorf("resumed Status().MFA = false")
	}
}
