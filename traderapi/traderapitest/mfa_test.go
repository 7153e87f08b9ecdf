package traderapitest_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// enroll enrolls alice and returns the TOTP key of the enrollment URL.
func enroll(t *testing.T, s *traderapitest.Server) *otp.Key {
	t.Helper()
	a := post(t, s, traderapi.PathEnrollMFA, map[string]string{"username": alice, "password": alicePW})
	if a.status != http.StatusOK {
		t.Fatalf("enroll_mfa: %d %s", a.status, a.raw)
	}
	key, err := otp.NewKeyFromURL(a.str("enrollmentUrl"))
	if err != nil {
		t.Fatalf("enrollment URL: %v", err)
	}
	return key
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMFA(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	confirm := func(otp string) answer {
		return post(t, s, traderapi.PathConfirmMFA, map[string]string{"username": alice, "password": alicePW, "otp": otp})
	}
	wantError(t, confirm("123456"), http.StatusBadRequest, 9, "no mfa enrollment pending: call enroll_mfa first")
	wantError(t, post(t, s, traderapi.PathEnrollMFA, map[string]string{"username": alice, "password": "wrong-pass-123"}),
		http.StatusUnauthorized, 16, "invalid username or password")

	first := enroll(t, s)
	key := enroll(t, s) // enrolling again replaces the pending secret
	if key.Type() != "totp" || key.Issuer() != "Polymarket Exchange" || key.AccountName() != alice ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || len(key.Secret()) < 16 || key.Secret() == first.Secret() {
		t.Fatalf("enrollment key: type %s issuer %q account %q period %d digits %d", key.Type(), key.Issuer(), key.AccountName(), key.Period(), key.Digits())
	}
	if !strings.HasPrefix(key.URL(), "otpauth://totp/") {
		t.Fatalf("URL %q", key.URL())
	}
	login(t, s, alice, alicePW) // not active before confirmation
	if s.MFAEnabled(alice) {
		t.Fatal("MFA on before confirm_mfa")
	}
	wantError(t, confirm(code(t, first.Secret(), t0)), http.StatusUnauthorized, 16, "invalid otp")
	wantError(t, confirm("12345"), http.StatusUnauthorized, 16, "invalid otp")
	now := code(t, key.Secret(), t0)
	if a := confirm(now); a.status != http.StatusOK {
		t.Fatalf("confirm_mfa: %d %s", a.status, a.raw)
	}
	if !s.MFAEnabled(alice) {
		t.Fatal("MFA off after confirm_mfa")
	}
	wantError(t, post(t, s, traderapi.PathEnrollMFA, map[string]string{"username": alice, "password": alicePW}),
		http.StatusBadRequest, 9, "mfa is already enabled for this user")

	noOTP := post(t, s, traderapi.PathLogin, map[string]string{"username": alice, "password": alicePW})
	if noOTP.status != http.StatusUnauthorized || string(noOTP.raw) != `{"code":16,"message":"otp required","details":[]}` {
		t.Fatalf("login without otp: %d %s", noOTP.status, noOTP.raw)
	}
	withOTP := func(c string) answer {
		return post(t, s, traderapi.PathLogin, map[string]string{"username": alice, "password": alicePW, "otp": c})
	}
	wantError(t, withOTP(now), http.StatusUnauthorized, 16, "invalid otp") // used by confirm_mfa in this window
	wantError(t, withOTP("000000"), http.StatusUnauthorized, 16, "invalid otp")
	wantError(t, withOTP(code(t, key.Secret(), t0.Add(-30*time.Second))), http.StatusUnauthorized, 16, "invalid otp") // older than the last used

	s.Advance(30 * time.Second)
	next := code(t, key.Secret(), t0.Add(30*time.Second))
	if a := withOTP(next); a.status != http.StatusOK {
		t.Fatalf("login with a fresh code: %d %s", a.status, a.raw)
	}
	wantError(t, withOTP(next), http.StatusUnauthorized, 16, "invalid otp") // replay
	// One step of skew is accepted: the code of the step after next.
	if a := withOTP(code(t, key.Secret(), t0.Add(60*time.Second))); a.status != http.StatusOK {
		t.Fatalf("login with a code one step ahead: %d %s", a.status, a.raw)
	}
	s.Advance(time.Minute)
	if a := withOTP(code(t, key.Secret(), t0.Add(150*time.Second))); a.status == http.StatusOK {
		t.Fatal("a code two steps ahead was accepted")
	}
}

func TestEnableMFAAndOTP(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	if _, err := s.OTP(alice); err == nil {
		t.Fatal("OTP without MFA succeeded")
	}
	if _, err := s.EnableMFA("nobody"); err == nil {
		t.Fatal("EnableMFA of an unknown user succeeded")
	}
	url, err := s.EnableMFA(alice)
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(url.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	c, err := s.OTP(alice)
	if err != nil || c != code(t, secret, t0) {
		t.Fatalf("OTP = %q, %v; want the code of the returned secret", c, err)
	}
	login(t, s, alice, alicePW, c)
}

// TestOTPFromOathtool checks the exchange against an independent TOTP
// implementation: oathtool's code for the enrollment secret is accepted.
func TestOTPFromOathtool(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("PMX_REQUIRE_TOOLS") != "" {
			t.Fatalf("oathtool is required: %v", err)
		}
		t.Skip("oathtool not installed; apt-get install oathtool")
	}
	now := time.Now().Truncate(time.Second)
	s := newServer(t, traderapitest.Options{Now: func() time.Time { return now }})
	key := enroll(t, s)
	out, err := exec.CommandContext(t.Context(), path, "--totp", "--base32", "--now", now.UTC().Format("2006-01-02 15:04:05 UTC"), key.Secret()).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	c := strings.TrimSpace(string(out))
	a := post(t, s, traderapi.PathConfirmMFA, map[string]string{"username": alice, "password": alicePW, "otp": c})
	if a.status != http.StatusOK {
		t.Fatalf("confirm_mfa with oathtool's code: %d %s", a.status, a.raw)
	}
	u, _ := url.Parse(key.URL())
	if u.Query().Get("issuer") != "Polymarket Exchange" {
		t.Fatalf("issuer parameter %q", u.Query().Get("issuer"))
	}
}
