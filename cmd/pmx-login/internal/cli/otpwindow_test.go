package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// mfaFixture is a user with MFA on, the runs and the exchange sharing one
// fake clock, set at the start of a window.
func mfaFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	f := setup(t).withUser(t)
	f.now = f.srv.Now
	url, err := f.srv.EnableMFA(testUser)
	if err != nil {
		t.Fatal(err)
	}
	secret := totpSecret(t, url)
	now := f.srv.Now()
	f.srv.Advance(time.Duration(otpPeriod-now.Unix()%otpPeriod)*time.Second + time.Second) // 1 s into a window
	return f, secret
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue 12 item 3: a code whose window was used (by another run: the memory
// is in the keystore) is reported as already used, with when the next one
// comes, for --otp, PMX_OTP_COMMAND and the prompt alike.
func TestOTPAlreadyUsedEverySource(t *testing.T) {
	t.Parallel()
	f, secret := mfaFixture(t)
	c := codeAt(t, secret, f.srv.Now())
	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", c)
	rec, err := f.record(t, keystore.ItemOTPStep)
	if err != nil || rec.LastOTPStep != otpStep(f.srv.Now()) {
		t.Fatalf("the used window is not recorded: %+v, %v", rec, err)
	}
	login := []string{"login", "--username", testUser, "--password-stdin"}
	r := f.run(t, testPassword+"\n", append(login, "--otp", c)...)
	wantCode(t, r, exitRejected, "already used", "next code comes in 2", "wait for your authenticator's next code")
	f.vars[envOTPCommand] = "echo " + c
	wantCode(t, f.run(t, testPassword+"\n", login...), exitRejected, "already used")
	delete(f.vars, envOTPCommand)

	// On a terminal: offered to wait (Enter), the wait moves the clock on,
	// then the new code is asked for.
	next := codeAt(t, secret, f.srv.Now().Add(otpPeriod*time.Second))
	s := IOStreams{In: strings.NewReader("\n"), InTTY: true, ReadSecret: func(_ context.Context, p string) (string, error) {
		switch p {
		case "Password for trader1: ":
			return testPassword, nil
		case "One-time code: ":
			return next, nil
		}
		t.Errorf("unexpected prompt %q", p)
		return "", context.Canceled
	}}
	r = f.runStreams(t, s, "login", "--username", testUser, "--otp", c)
	wantCode(t, r, 0)
	if !strings.Contains(r.err, "Wait for it?") {
		t.Errorf("not offered to wait: %q", r.err)
	}
}

// Issue 12 item 3: the stored secret never offers a used window, even one
// used by another run through --otp: it waits for the next (one login call).
func TestOTPStoredSecretSkipsUsedWindow(t *testing.T) {
	t.Parallel()
	checkUsedWindowSkipped(t, setup(t).withUser(t))
}

// TestOTPUsedWindowOnRedis: the same with the fleet's Redis keystore, whose
// compare-and-set refuses a write that does not raise the generation.
func TestOTPUsedWindowOnRedis(t *testing.T) {
	t.Parallel()
	f, _, _ := redisFixture(t)
	checkUsedWindowSkipped(t, f)
}

func checkUsedWindowSkipped(t *testing.T, f *fixture) {
	t.Helper()
	f.now = f.srv.Now
	f.login(t)
	f.must(t, testPassword+"\n", "mfa", "enroll", "--store-secret", "--password-stdin")
	code := strings.TrimSpace(f.must(t, "", "mfa", "code").out)
	f.must(t, testPassword+"\n", "mfa", "confirm", "--otp", code, "--password-stdin")
	f.srv.ResetCounters()
	before := f.srv.Now()
	r := f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	if n := f.srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login made %d calls, want 1: the used window's code was sent", n)
	}
	if !strings.Contains(r.err, "already used; waiting") || otpStep(f.srv.Now()) != otpStep(before)+1 {
		t.Errorf("login did not wait for the next window: %v", r)
	}
	// mfa code prints no used window either.
	r = f.must(t, "", "mfa", "code")
	if strings.Contains(r.out, code) || !strings.Contains(r.err, "waiting") {
		t.Errorf("mfa code printed a used window's code: %v", r)
	}
}

// Issue 12 item 3: waiting for the next window is not counted against
// --timeout (the wait here takes real time past the timeout).
func TestOTPWaitNotCountedAgainstTimeout(t *testing.T) {
	t.Parallel()
	f, secret := mfaFixture(t)
	c := codeAt(t, secret, f.srv.Now())
	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", c)
	next := codeAt(t, secret, f.srv.Now().Add(otpPeriod*time.Second))
	s := IOStreams{In: strings.NewReader("y\n"), InTTY: true,
		ReadSecret: func(_ context.Context, p string) (string, error) {
			if strings.HasPrefix(p, "Password") {
				return testPassword, nil
			}
			return next, nil
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			time.Sleep(2500 * time.Millisecond) // longer than --timeout
			f.srv.Advance(d)
			return ctx.Err()
		}}
	wantCode(t, f.runStreams(t, s, "--timeout", "2s", "login", "--username", testUser, "--otp", c), 0)
}

// Issue 12 item 3: a wrong code at mfa confirm says the code was refused,
// not that the account has MFA on.
func TestMFAConfirmWrongCodeHint(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.must(t, testPassword+"\n", "mfa", "enroll", "--username", testUser, "--password-stdin")
	r := f.run(t, testPassword+"\n", "mfa", "confirm", "--username", testUser, "--otp", "000000", "--password-stdin")
	wantCode(t, r, exitRejected, "check the code")
	if strings.Contains(r.err, "has MFA on") {
		t.Errorf("mfa confirm with a wrong code claims MFA is on: %s", r.err)
	}
}

// Issue 12 items 6 and 10: a malformed --otp is a usage error with nothing
// sent; --otp sends one login request carrying the code; --otp - reads it
// from stdin after the password.
func TestOTPFlag(t *testing.T) {
	t.Parallel()
	f, secret := mfaFixture(t)
	login := []string{"login", "--username", testUser, "--password-stdin"}
	for _, bad := range []string{"12345", "12a456", "1234567"} {
		wantCode(t, f.run(t, testPassword+"\n", append(login, "--otp", bad)...), exitUsage, "--otp")
	}
	wantCode(t, f.run(t, testPassword+"\n"+"12345\n", append(login, "--otp", "-")...), exitUsage, "--otp")
	if n := f.srv.Calls(traderapi.PathLogin); n != 0 {
		t.Fatalf("malformed codes made %d login calls, want 0", n)
	}
	f.must(t, testPassword+"\n", append(login, "--otp", codeAt(t, secret, f.srv.Now()))...)
	if n := f.srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login --otp made %d login calls, want 1", n)
	}
	f.srv.Advance(otpPeriod * time.Second)
	f.must(t, testPassword+"\n"+codeAt(t, secret, f.srv.Now())+"\n", append(login, "--otp", "-")...)
}

// Issue 12 item 16: a password that is not valid UTF-8 is refused, not
// changed, and not sent.
func TestPasswordNotUTF8(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	r := f.run(t, "abc\xffdef-42\n", "login", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitUsage, "not valid UTF-8")
	if n := f.srv.Calls(traderapi.PathLogin); n != 0 {
		t.Errorf("login called %d times", n)
	}
}

// Issue 12 item 6: --env is case-insensitive; an unknown one with --base-url
// is warned about.
func TestEnvNames(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	r := f.must(t, "", "--env", "PreProd", "status")
	if !strings.Contains(r.out, "preprod") || strings.Contains(r.err, "warning") {
		t.Errorf("--env PreProd: %v", r)
	}
	r = f.run(t, "", "--env", "staging", "status")
	if r.code != exitNotLoggedIn || !strings.Contains(r.err, "warning: --env \"staging\"") || !strings.Contains(r.err, "pmx-login: not logged in to staging (") {
		t.Errorf("--env staging --base-url: %v", r)
	}
}
