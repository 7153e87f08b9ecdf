package cli

import (
	"regexp"
	"strings"
	"testing"
)

// hintTail is the parenthesised hint Main prints after the error.
var hintTail = regexp.MustCompile(`\(([^()]*)\)\n?$`)

// Issue 12 item 7: one cause, one hint: the line carries the hint once, and
// no CLI advice comes twice.
func TestOneHint(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	for _, tc := range []struct {
		stdin string
		args  []string
		hint  string
	}{
		{"wrong-password-42\n", []string{"login", "--username", testUser, "--password-stdin"}, "check the username and password"},
		{testPassword + "\n", []string{"register", "--token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "--password-stdin"}, "registration tokens are single-use"},
		{"", []string{"token"}, "run `pmx-login login`"},
		{"", []string{"status"}, "run `pmx-login login`"},
	} {
		r := f.run(t, tc.stdin, tc.args...)
		// The CLI adds its hint once, in parentheses at the end. (Advice
		// inside a library's error text, such as traderapi's diagnosis of
		// a 401, is being removed there: not this test's business.)
		if m := hintTail.FindStringSubmatch(r.err); m == nil || !strings.Contains(m[1], tc.hint) || strings.Count(r.err, "("+tc.hint) != 1 {
			t.Errorf("%v: want the one hint %q at the end:\n%s", tc.args, tc.hint, r.err)
		}
		if strings.Contains(r.err, "not logged in to preprod: not logged in") {
			t.Errorf("%v: a cause said twice: %s", tc.args, r.err)
		}
	}
}

// Issue 12 item 5: mfa enroll --store-secret after MFA is on says so and
// gives the real next step; mfa code without a secret gives one that works.
func TestEnrollAfterMFAOn(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	if _, err := f.srv.EnableMFA(testUser); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, testPassword+"\n", "mfa", "enroll", "--store-secret", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitFailure, "already enabled", "--otp -", "PMX_OTP_COMMAND")
	if strings.Contains(r.err, "check the username and password") {
		t.Errorf("enroll after MFA on blames the credentials: %s", r.err)
	}
	r = f.run(t, "", "mfa", "code", "--username", testUser)
	wantCode(t, r, exitNotLoggedIn, "no TOTP secret", "--otp -")
	if strings.Contains(r.err, "run `pmx-login mfa enroll --store-secret` to keep one") {
		t.Errorf("mfa code points at a command that cannot work: %s", r.err)
	}
}
