package cli

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
)

var sixDigits = regexp.MustCompile(`^[0-9]{6}\n$`)

// mfa enroll --store-secret shows the QR code, writes the PNG 0600 and keeps
// the secret; mfa code prints its codes; mfa confirm turns MFA on; login
// then takes its code from the stored secret by itself.
func TestMFAEnrollConfirmCodeLogin(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.now = f.srv.Now // the runs share the exchange's clock, which the test moves on
	f.login(t)
	pngPath := filepath.Join(t.TempDir(), "qr.png")

	r := f.must(t, testPassword+"\n", "mfa", "enroll", "--store-secret", "--qr-png", pngPath, "--password-stdin")
	for _, want := range []string{"Scan this QR code", "█", "pmx-login mfa confirm", "TOTP secret stored"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("mfa enroll output lacks %q", want)
		}
	}
	if !strings.Contains(r.err, mfa.StoreSecretWarning) {
		t.Errorf("--store-secret did not warn on stderr: %q", r.err)
	}
	rec, err := f.record(t, keystore.ItemTOTP)
	if err != nil {
		t.Fatalf("no TOTP entry stored: %v", err)
	}
	e, err := mfa.ParseURL(rec.OTPAuthURL.Reveal())
	if err != nil {
		t.Fatalf("the stored URL does not parse: %v", err)
	}
	if secret := e.Secret.Reveal(); strings.Contains(r.out+r.err, secret) || strings.Contains(r.out+r.err, e.ManualKey()) {
		t.Errorf("mfa enroll printed the TOTP secret")
	}
	fi, err := os.Stat(pngPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("QR PNG: %v, mode %v, want 0600", err, fi)
	}
	pf, _ := os.Open(pngPath)
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil || img.Bounds().Dx() != qrPNGSize {
		t.Fatalf("QR PNG does not decode to %d px: %v", qrPNGSize, err)
	}
	wantCode(t, f.run(t, testPassword+"\n", "mfa", "enroll", "--qr-png", pngPath, "--password-stdin"), exitUsage, "already exists")
	if n := f.srv.Calls("/auth/v1beta1/enroll_mfa"); n != 1 {
		t.Errorf("enroll_mfa called %d times, want 1: an existing --qr-png file must stop enrollment first", n)
	}

	r = f.must(t, "", "mfa", "code")
	want, _ := totp.GenerateCode(e.Secret.Reveal(), f.srv.Now())
	if !sixDigits.MatchString(r.out) || strings.TrimSpace(r.out) != want {
		t.Fatalf("mfa code printed %q, want %q", r.out, want)
	}
	wantCode(t, f.run(t, testPassword+"\n", "mfa", "confirm", "--otp", "12345", "--password-stdin"), exitUsage, "the code has 5 digits", "mfa confirm --help")
	r = f.must(t, testPassword+"\n", "mfa", "confirm", "--otp", strings.TrimSpace(r.out), "--password-stdin")
	if !strings.Contains(r.out, "MFA is on for trader1") || !f.srv.MFAEnabled(testUser) {
		t.Fatalf("mfa confirm: %v", r)
	}

	// The code of this window is used: login waits for the next window's
	// code, which the test brings about by moving the clock on.
	f.srv.Advance(30 * time.Second)
	r = f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	if !strings.Contains(r.out, "Logged in") {
		t.Errorf("login with the stored secret: %v", r)
	}
	r = f.must(t, "", "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st["mfa"] != "secret-stored" {
		t.Errorf("status --json after enrollment: %v %v", st, err)
	}
}

// Without a stored secret, the code comes from --otp, PMX_OTP_COMMAND or the
// terminal; with none of them, login exits 4 and says how to give one.
func TestLoginOTPSources(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.now = f.srv.Now
	url, err := f.srv.EnableMFA(testUser)
	if err != nil {
		t.Fatal(err)
	}
	secret := totpSecret(t, url)
	code := func() string {
		f.srv.Advance(30 * time.Second) // a code is accepted once per window
		c, _ := totp.GenerateCode(secret, f.srv.Now())
		return c
	}
	r := f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitRejected, "needs a one-time code", "--otp -", "PMX_OTP_COMMAND")
	wantCode(t, f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", "12a456"), exitUsage, "digits only")
	wantCode(t, f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", "000000"), exitRejected, "invalid otp")

	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", code())

	f.vars["PMX_OTP_COMMAND"] = "printf '%s\\n' " + code()
	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	f.vars["PMX_OTP_COMMAND"] = "exit 3"
	wantCode(t, f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin"), exitRejected, "PMX_OTP_COMMAND command in a shell")
	delete(f.vars, "PMX_OTP_COMMAND")

	c := code()
	r, prompts := f.runTTY(t, []string{testPassword, c[:3] + " " + c[3:]}, "login", "--username", testUser)
	wantCode(t, r, 0)
	if len(prompts) != 2 || prompts[1] != "One-time code: " {
		t.Errorf("prompts %q", prompts)
	}
	if strings.Contains(r.out+r.err, c) || strings.Contains(r.out+r.err, testPassword) {
		t.Errorf("login echoed the code or the password")
	}
}

func TestMFAEnrollJSONAndShowSecret(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	r := f.must(t, testPassword+"\n", "mfa", "enroll", "--username", testUser, "--password-stdin", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("mfa enroll --json: %v\n%s", err, r.out)
	}
	if got["issuer"] != "Polymarket Exchange" || got["account"] != testUser || got["digits"] != 6.0 || got["period"] != 30.0 || got["algorithm"] != "SHA1" {
		t.Errorf("mfa enroll --json: %v", got)
	}
	if strings.Contains(r.out, "secret=") || strings.Contains(r.out, "otpauth") || strings.Contains(r.out, "\x1b[") {
		t.Errorf("mfa enroll --json shows the URL or the QR code:\n%s", r.out)
	}
	if _, err := f.record(t, keystore.ItemTOTP); err == nil {
		t.Errorf("the secret was stored without --store-secret")
	}
	wantCode(t, f.run(t, "", "mfa", "code", "--username", testUser), exitNotLoggedIn, "no TOTP secret is stored", "mfa enroll --store-secret")

	g := setup(t).withUser(t)
	r = g.must(t, testPassword+"\n", "mfa", "enroll", "--username", testUser, "--password-stdin", "--show-secret")
	if !regexp.MustCompile(`secret for manual entry: [A-Z2-7]{4}( [A-Z2-7]{1,4})+\n`).MatchString(r.out) {
		t.Errorf("--show-secret did not print the secret for manual entry:\n%s", r.out)
	}
}
