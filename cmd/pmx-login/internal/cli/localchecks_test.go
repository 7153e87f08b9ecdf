package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Issue 12 item 2: a registration token that is not a JWT, or has expired,
// is a usage error before any prompt or request.
func TestRegisterTokenCheckedLocally(t *testing.T) {
	t.Parallel()
	f := setup(t)
	expired := f.srv.RegistrationToken(testUser)
	for _, tc := range []struct {
		name, token string
		now         func() time.Time
		want        string
	}{
		{"not a JWT", "not-a-jwt", nil, "not a JWT"},
		{"two parts", "eyJhbGciOiJIUzI1NiJ9.e30", nil, "not a JWT"},
		{"expired", expired, func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }, "expired"},
	} {
		g := *f
		g.now = tc.now
		s := IOStreams{In: strings.NewReader(""), InTTY: true, ReadSecret: func(_ context.Context, p string) (string, error) {
			t.Errorf("%s: prompted %q", tc.name, p)
			return "", context.Canceled
		}}
		r := g.runStreams(t, s, "register", "--token-file", writeFile(t, "reg.jwt", tc.token))
		wantCode(t, r, exitUsage, tc.want)
		if strings.Contains(r.err, tc.token) {
			t.Errorf("%s: the error quotes the token", tc.name)
		}
	}
	for _, p := range []string{traderapi.PathCheckPassword, traderapi.PathRegister} {
		if n := f.srv.Calls(p); n != 0 {
			t.Errorf("%s called %d times", p, n)
		}
	}
}

// Issue 12 item 4: with --password-stdin a password the policy refuses ends
// register and change-password with exit 4 and the exchange's reason,
// before register or change_password is called.
func TestPasswordPolicyFromStdin(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := writeFile(t, "reg.jwt", f.srv.RegistrationToken(testUser))
	wantCode(t, f.run(t, "abc\n", "register", "--token-file", tok, "--password-stdin"), exitRejected, "refused", "at least 12 characters")
	if n := f.srv.Calls(traderapi.PathRegister); n != 0 {
		t.Errorf("register called %d times", n)
	}
	f.must(t, testPassword+"\n", "register", "--token-file", tok, "--password-stdin")
	f.login(t)
	r := f.run(t, testPassword+"\nshort\n", "change-password", "--password-stdin")
	wantCode(t, r, exitRejected, "new password was refused", "at least 12 characters")
	if n := f.srv.Calls(traderapi.PathChangePassword); n != 0 {
		t.Errorf("change_password called %d times", n)
	}
	// On a terminal change-password asks again.
	r, prompts := f.runTTY(t, []string{testPassword, "short", newPassword, newPassword}, "change-password")
	wantCode(t, r, 0)
	if len(prompts) != 4 || !strings.Contains(r.err, "That new password was refused") {
		t.Errorf("prompts %q, stderr %q", prompts, r.err)
	}
}

// Issue 10 item 8: the client and the session read one clock: with a local
// clock 3 hours behind, a fresh 1-hour token is valid for an hour by it.
func TestOneClockForClientAndSession(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.now = func() time.Time { return time.Now().Add(-3 * time.Hour) }
	f.login(t)
	var st struct {
		In float64 `json:"access_expires_in"`
	}
	r := f.must(t, "", "status", "--json")
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatal(err)
	}
	if st.In < 3500 || st.In > 3601 {
		t.Errorf("access_expires_in %v s by the local clock, want about 3600:\n%s", st.In, r.out)
	}
}
