package traderapi_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// printAll prints v with every verb and through both slog handlers.
func printAll(v any) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%v|%+v|%#v|%s|%q|%x|%X|%10.3s|%T\n", v, v, v, v, v, v, v, v, v)
	fmt.Fprint(&b, v)
	fmt.Fprintln(&b, v)
	slog.New(slog.NewTextHandler(&b, nil)).Info("value", "v", v)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("value", "v", v)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("group", slog.Group("g", "v", v))
	return b.String()
}

// hexOf returns the forms a secret takes under %x and %X.
func hexOf(s string) []string { return []string{fmt.Sprintf("%x", s), fmt.Sprintf("%X", s)} }

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "pa55-word-SECRET"
	s := traderapi.Secret(value)
	out := printAll(s) + printAll(&s)
	for _, bad := range append(hexOf(value), value, "pa55") {
		if strings.Contains(out, bad) {
			t.Fatalf("Secret printed %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "[REDACTED]") || !strings.Contains(out, `traderapi.Secret("[REDACTED]")`) {
		t.Fatalf("no redacted form:\n%s", out)
	}
	if s.Reveal() != value || s.IsZero() || !traderapi.Secret("").IsZero() || traderapi.Secret("").String() != "" {
		t.Fatal("Reveal / IsZero / empty String")
	}
	if p := traderapi.Secret("abcdefghijklmnopqrstuvwxyz").Prefix(20); p != "abcdefgh…" {
		t.Fatalf("Prefix(20) = %q, want 8 characters at most", p)
	}
	if p := traderapi.Secret("short").Prefix(4); p != "[REDACTED]" {
		t.Fatalf("Prefix of a short secret = %q", p)
	}
}

func TestRequestStructsNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	const (
		pw  = "request-Passw0rd"
		otp = "86420975"
		tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-request"
	)
	values := []any{
		traderapi.RegisterRequest{Token: tok, Password: pw},
		traderapi.CheckPasswordRequest{Password: pw},
		traderapi.LoginRequest{Username: user, Password: pw, OTP: otp},
		traderapi.RefreshRequest{RefreshToken: tok},
		traderapi.LogoutRequest{AccessToken: tok, RefreshToken: tok},
		traderapi.ChangePasswordRequest{Username: user, OldPassword: pw, NewPassword: pw + "2"},
		traderapi.EnrollMFARequest{Username: user, Password: pw},
		traderapi.ConfirmMFARequest{Username: user, Password: pw, OTP: otp},
		traderapi.LoginResponse{AccessToken: tok, RefreshToken: tok, AccessIssueTime: time.Now()},
		traderapi.RefreshResponse{AccessToken: tok},
		traderapi.EnrollMFAResponse{EnrollmentURL: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"},
	}
	for _, v := range values {
		out := printAll(v)
		for _, bad := range []string{pw, otp, tok, "eyJhbGci", "JBSWY3DP"} {
			if strings.Contains(out, bad) {
				t.Errorf("%T printed %q:\n%s", v, bad, out)
			}
		}
	}
}

// TestDebugTraceHasNoSecrets runs every call with WithDebug and looks for
// each secret of the run in the real trace.
func TestDebugTraceHasNoSecrets(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	var trace bytes.Buffer
	s, c := setupWith(t, traderapitest.Options{Now: func() time.Time { return now }, JWTRefreshTokens: true}, traderapi.WithDebug(&trace))
	ctx := t.Context()
	secrets := []string{password.Reveal()}

	regTok := s.RegistrationToken("trader-2")
	const pw2 = "Another-passw0rd"
	secrets = append(secrets, regTok, pw2)
	must(t, second(c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: pw2})))
	_, err := c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: "weak-secret"})
	secrets = append(secrets, "weak-secret")
	if err == nil {
		t.Fatal("weak password accepted")
	}
	must(t, second(c.Register(ctx, traderapi.RegisterRequest{Token: traderapi.Secret(regTok), Password: pw2})))

	first := login(t, c)
	ref, err := c.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: first.RefreshToken})
	must(t, err)
	enr, err := c.EnrollMFA(ctx, traderapi.EnrollMFARequest{Username: user, Password: password})
	must(t, err)
	u, _ := url.Parse(enr.EnrollmentURL.Reveal())
	totpSecret := u.Query().Get("secret")
	code1, _ := totp.GenerateCode(totpSecret, now)
	must(t, second(c.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: user, Password: password, OTP: traderapi.Secret(code1)})))
	s.Advance(30 * time.Second)
	code2, _ := totp.GenerateCode(totpSecret, now.Add(30*time.Second))
	mfaLogin, err := c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password, OTP: traderapi.Secret(code2)})
	must(t, err)
	must(t, c.Logout(ctx, traderapi.LogoutRequest{AccessToken: mfaLogin.AccessToken, RefreshToken: mfaLogin.RefreshToken}))
	const newPW = "Changed-passw0rd"
	must(t, second(c.ChangePassword(ctx, traderapi.ChangePasswordRequest{Username: "trader-2", OldPassword: pw2, NewPassword: newPW})))

	// A login answer cut short, with the tokens in it.
	s.InjectFault(traderapi.PathLogin, traderapitest.Fault{TruncatedJSON: true})
	s.Advance(30 * time.Second)
	code3, _ := totp.GenerateCode(totpSecret, now.Add(60*time.Second))
	if _, err := c.Login(ctx, traderapi.LoginRequest{Username: user, Password: password, OTP: traderapi.Secret(code3)}); err == nil {
		t.Fatal("truncated login succeeded")
	}

	for _, tok := range []traderapi.Secret{first.AccessToken, first.RefreshToken, ref.AccessToken, mfaLogin.AccessToken, mfaLogin.RefreshToken} {
		parts := strings.Split(tok.Reveal(), ".")
		secrets = append(secrets, parts[1][:16], parts[2][:16]) // each token's claims and signature
	}
	secrets = append(secrets, totpSecret, code1, code2, code3, newPW)

	out := trace.String()
	if !strings.Contains(out, "> POST") || !strings.Contains(out, "< HTTP/1.1 200 OK") || strings.Count(out, "> POST") != 11 {
		t.Fatalf("the trace does not show the run (%d requests):\n%s", strings.Count(out, "> POST"), out)
	}
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Errorf("the debug trace shows a secret (%d chars) at %q", len(sec), around(out, sec))
		}
	}
	if strings.Contains(out, "eyJ") { // the start of every JWT, the truncated answer's too
		t.Errorf("the debug trace shows a JWT at %q", around(out, "eyJ"))
	}
	if !strings.Contains(out, "Authorization: [REDACTED]") {
		t.Error("the logout Authorization header is not shown redacted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// around returns the trace around a leaked secret, with the secret masked.
func around(out, sec string) string {
	i := strings.Index(out, sec)
	lo, hi := max(0, i-40), min(len(out), i+len(sec)+10)
	return strings.ReplaceAll(out[lo:hi], sec, "<SECRET>")
}
