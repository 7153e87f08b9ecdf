package mfa

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	testUser     = "alice"
	testPassword = traderapi.Secret("correct-horse-42-battery")
)

// setup starts a local exchange with one user and returns it with a client.
func setup(t *testing.T) (*traderapitest.Server, *traderapi.Client) {
	t.Helper()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// exchangeClock makes a Generator run on the exchange's clock, its waits
// moving that clock on.
func exchangeClock(srv *traderapitest.Server) []GeneratorOption {
	return []GeneratorOption{
		WithClock(srv.Now),
		WithSleep(func(_ context.Context, d time.Duration) error { srv.Advance(d); return nil }),
	}
}

// TestEnrollConfirmLogin runs the whole flow against the local exchange:
// enroll, confirm with a generated code, then log in with the next code. A
// code already used is refused, which is why the generator waits.
func TestEnrollConfirmLogin(t *testing.T) {
	t.Parallel()
	srv, client := setup(t)
	ctx := t.Context()

	e, err := Enroll(ctx, client, testUser, testPassword)
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if e.Issuer != "Polymarket Exchange" || e.Account != testUser || e.Period != 30 || e.Digits != 6 || e.Secret.IsZero() {
		t.Fatalf("Enroll = %v", e)
	}
	if srv.MFAEnabled(testUser) {
		t.Fatal("MFA is on before Confirm")
	}
	g, err := NewGenerator(e, exchangeClock(srv)...)
	if err != nil {
		t.Fatal(err)
	}
	first, err := g.Code(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Confirm(ctx, client, testUser, testPassword, first); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if !srv.MFAEnabled(testUser) {
		t.Fatal("MFA is off after Confirm")
	}

	// The confirmed code is spent: the exchange refuses it for login.
	_, err = client.Login(ctx, traderapi.LoginRequest{Username: testUser, Password: testPassword, OTP: first})
	if !errors.Is(err, traderapi.ErrUnauthorized) {
		t.Fatalf("login with the spent code: %v; want 401", err)
	}
	// The generator's next code waits for the next window, and works.
	start := srv.Now()
	next, err := g.Code(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Now().Sub(start) <= 0 {
		t.Error("the second code did not wait for the next window")
	}
	if _, err := client.Login(ctx, traderapi.LoginRequest{Username: testUser, Password: testPassword, OTP: next}); err != nil {
		t.Fatalf("login with the generator's next code: %v", err)
	}
	// Enrolling again is refused now that MFA is on.
	if _, err := Enroll(ctx, client, testUser, testPassword); err == nil || !strings.Contains(err.Error(), "already enabled") {
		t.Errorf("second Enroll = %v; want an already-enabled error", err)
	}
}

func TestConfirmErrors(t *testing.T) {
	t.Parallel()
	srv, client := setup(t)
	ctx := t.Context()

	err := Confirm(ctx, client, testUser, testPassword, "123456")
	if err == nil || errors.Is(err, ErrCodeRejected) || !strings.Contains(err.Error(), "call enroll_mfa first") {
		t.Errorf("Confirm before Enroll = %v; want the exchange's precondition error, not ErrCodeRejected", err)
	}
	e, err := Enroll(ctx, client, testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := NewGenerator(e, exchangeClock(srv)...)
	good, _ := g.At(srv.Now())
	wrong := secretOf(strings.Map(func(r rune) rune { return '0' + (r-'0'+5)%10 }, good.Reveal())) // every digit changed
	err = Confirm(ctx, client, testUser, testPassword, wrong)
	var apiErr *traderapi.APIError
	if !errors.Is(err, ErrCodeRejected) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Confirm with a wrong code = %v; want ErrCodeRejected wrapping a 401", err)
	}
	if msg := err.Error(); strings.Contains(msg, "wait for") || strings.Contains(msg, "MFA on") || !strings.Contains(msg, "invalid otp") {
		t.Errorf("error = %q; want what happened (the exchange's words), no CLI advice, no claim about login", err)
	}
	err = Confirm(ctx, client, testUser, "wrong-password-1", good)
	if !errors.Is(err, traderapi.ErrUnauthorized) || errors.Is(err, ErrCodeRejected) || strings.Contains(err.Error(), "wrong-password-1") {
		t.Errorf("Confirm with a wrong password = %v; want a 401 that is not ErrCodeRejected and hides the password", err)
	}
	if err := Confirm(ctx, client, testUser, testPassword, "12 34"); err == nil || !strings.Contains(err.Error(), "the code has 4 digits") {
		t.Errorf("Confirm with a short code = %v; want a validation error", err)
	}
	if calls := srv.Calls(traderapi.PathConfirmMFA); calls != 3 {
		t.Errorf("confirm_mfa was called %d times; want 3 (the short code is refused before the call)", calls)
	}
	if err := Confirm(ctx, client, testUser, testPassword, good); err != nil {
		t.Errorf("Confirm with the right code after failures: %v", err)
	}
	if err := Confirm(ctx, nil, testUser, testPassword, good); err == nil {
		t.Error("Confirm with no client succeeded")
	}
	if err := Confirm(ctx, client, "", testPassword, good); err == nil || !strings.Contains(err.Error(), "username and the password") {
		t.Errorf("Confirm with no username = %v", err)
	}
}

func TestEnrollErrors(t *testing.T) {
	t.Parallel()
	srv, client := setup(t)
	ctx := t.Context()

	_, err := Enroll(ctx, client, testUser, "wrong-password-1")
	if !errors.Is(err, traderapi.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-password-1") {
		t.Errorf("Enroll with a wrong password = %v; want a 401 hiding the password", err)
	}
	if _, err := Enroll(ctx, client, "", testPassword); err == nil || !strings.Contains(err.Error(), "username and the password") {
		t.Errorf("Enroll with no username = %v", err)
	}
	if _, err := Enroll(ctx, nil, testUser, testPassword); err == nil {
		t.Error("Enroll with no client succeeded")
	}

	for _, body := range []string{
		`{"enrollmentUrl": "otpauth://hotp/x:alice?secret=` + testSecret + `&counter=0"}`,
		`{"enrollmentUrl": "otpauth://totp/x:alice?secret=` + testSecret + `&digits=7"}`,
		`{"enrollmentUrl": "otpauth://totp/x:alice?secret=` + testSecret[:9] + `"}`,
	} {
		srv.InjectFault(traderapi.PathEnrollMFA, traderapitest.Fault{Body: []byte(body), Times: 1})
		_, err := Enroll(ctx, client, testUser, testPassword)
		if !errors.Is(err, traderapi.ErrMalformedResponse) || !strings.Contains(err.Error(), "unusable enrollment URL") {
			t.Errorf("Enroll answered %s: %v; want a malformed-response error", body, err)
		}
		if err != nil {
			assertNoSecret(t, err.Error(), testSecret)
		}
	}
	srv.InjectFault(traderapi.PathEnrollMFA, traderapitest.Fault{Body: []byte(`{}`), Times: 1})
	if _, err := Enroll(ctx, client, testUser, testPassword); !errors.Is(err, traderapi.ErrMalformedResponse) {
		t.Errorf("Enroll answered {}: %v; want a malformed-response error", err)
	}
	srv.InjectFault(traderapi.PathEnrollMFA, traderapitest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	if _, err := Enroll(ctx, client, testUser, testPassword); !errors.Is(err, traderapi.ErrUnavailable) {
		t.Errorf("Enroll answered 503: %v; want ErrUnavailable", err)
	}
}
