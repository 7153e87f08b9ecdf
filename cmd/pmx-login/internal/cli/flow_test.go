package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// The whole password flow, one command at a time, as a trader runs it:
// register, check-password, login, token, status, refresh, change-password,
// logout.
func TestPasswordFlow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tokFile := writeFile(t, "reg.jwt", f.srv.RegistrationToken(testUser)+"\n")

	r := f.run(t, "short1\n", "register", "--token-file", tokFile, "--password-stdin")
	wantCode(t, r, exitRejected, "must be at least 12 characters", "(choose another password)")
	if n := f.srv.Calls("/auth/v1beta1/register"); n != 0 {
		t.Fatalf("register was called %d times after check_password refused the password", n)
	}

	r = f.must(t, testPassword+"\n", "register", "--token-file", tokFile, "--password-stdin")
	if !strings.Contains(r.out, "Registered trader1 in preprod") || !strings.Contains(r.out, "pmx-login login --username trader1") {
		t.Errorf("register output:\n%s", r.out)
	}
	if f.srv.Calls("/auth/v1beta1/check_password") != 2 {
		t.Errorf("register did not check the password first")
	}
	r = f.run(t, testPassword+"\n", "register", "--token-file", tokFile, "--password-stdin")
	wantCode(t, r, exitRejected, "ask your account manager for a new one")

	r = f.must(t, testPassword+"\n", "check-password", "--password-stdin")
	if !strings.Contains(r.out, "meets the exchange's policy") {
		t.Errorf("check-password output:\n%s", r.out)
	}

	r = f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	if !strings.Contains(r.out, "Logged in to preprod as trader1") || !strings.Contains(r.out, "(in 1h0m)") {
		t.Errorf("login output:\n%s", r.out)
	}
	rec, err := f.record(t, keystore.ItemSession)
	if err != nil || rec.RefreshToken.IsZero() {
		t.Fatalf("no session stored after login: %v", err)
	}

	// token needs no username: the last user is remembered. It prints the
	// cached access token and a newline, nothing else, without a refresh.
	r = f.must(t, "", "token")
	tok := strings.TrimSuffix(r.out, "\n")
	if tok != rec.AccessToken.Reveal() || strings.Contains(tok, "\n") || r.err != "" {
		t.Fatalf("token printed %q (stderr %q), want the cached access token", r.out, r.err)
	}
	f.authenticated(t, tok)
	if n := f.srv.Calls("/auth/v1beta1/refresh_access_token"); n != 0 {
		t.Errorf("token refreshed a valid cached token (%d calls)", n)
	}

	r = f.must(t, "", "status")
	for _, want := range []string{"environment: preprod", "user:        trader1", "logged in:   yes", "(in 1h0m)", "(in 7d0h)", "mfa:         unknown", "keystore:    file (" + f.dir} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status lacks %q:\n%s", want, r.out)
		}
	}
	r = f.must(t, "", "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, r.out)
	}
	if st["environment"] != "preprod" || st["username"] != testUser || st["logged_in"] != true || st["keystore"] != "file" || st["mfa"] != "unknown" {
		t.Errorf("status --json: %v", st)
	}
	if in, _ := st["access_expires_in"].(float64); in < 3500 || in > 3600 {
		t.Errorf("access_expires_in = %v, want about 3600", st["access_expires_in"])
	}
	if _, err := time.Parse(time.RFC3339, st["refresh_expires_at"].(string)); err != nil {
		t.Errorf("refresh_expires_at: %v", err)
	}

	r = f.must(t, "", "refresh")
	if !strings.Contains(r.out, "Refreshed: new access token valid until") || f.srv.Calls("/auth/v1beta1/refresh_access_token") != 1 {
		t.Errorf("refresh: %v", r)
	}
	r = f.must(t, "", "token")
	tok2 := strings.TrimSpace(r.out)
	if tok2 == tok {
		t.Errorf("token after refresh is the old token")
	}
	f.authenticated(t, tok2)

	r = f.must(t, testPassword+"\n"+newPassword+"\n", "change-password", "--password-stdin")
	if !strings.Contains(r.out, "Password of trader1 in preprod changed") {
		t.Errorf("change-password output:\n%s", r.out)
	}
	wantCode(t, f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin"), exitRejected, "invalid username or password")
	f.must(t, newPassword+"\n", "login", "--username", testUser, "--password-stdin")
	r = f.must(t, "", "token")
	tok3 := strings.TrimSpace(r.out)

	r = f.must(t, "", "logout")
	if !strings.Contains(r.out, "Logged out trader1 from preprod") {
		t.Errorf("logout output:\n%s", r.out)
	}
	if _, err := f.srv.Authenticate(tok3); err == nil {
		t.Errorf("the access token still works after logout")
	}
	if rec, err := f.record(t, keystore.ItemSession); err == nil && !(rec.Ended() && rec.LoggedOut) {
		t.Errorf("the session is still stored after logout")
	}
	wantCode(t, f.run(t, "", "token"), exitNotLoggedIn, "run `pmx-login login`")
	r = f.run(t, "", "status")
	wantCode(t, r, exitNotLoggedIn, "not logged in to preprod")
	if !strings.Contains(r.out, "logged in:   no") {
		t.Errorf("status after logout:\n%s", r.out)
	}
}

// Global flags work before and after the command name; flags win over the
// environment.
func TestGlobalFlagsAnywhere(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.vars["PMX_USERNAME"] = "nobody"
	f.vars["PMX_BASE_URL"] = "http://127.0.0.1:1" // nothing listens there
	for _, args := range [][]string{
		{"--base-url", f.srv.URL, "--username", testUser, "login", "--password-stdin"},
		{"login", "--password-stdin", "--username=" + testUser, "--base-url", f.srv.URL},
		{"--json", "login", "--base-url", f.srv.URL, "--password-stdin", "--username", testUser},
	} {
		r := f.run(t, testPassword+"\n", args...)
		wantCode(t, r, 0)
	}
	r := f.must(t, "", "--base-url", f.srv.URL, "--json", "status", "--username", testUser)
	if !strings.Contains(r.out, `"username": "trader1"`) {
		t.Errorf("status --json:\n%s", r.out)
	}
}

// On a terminal, register asks for the password twice and, when the two
// differ, asks again; login asks for username and password.
func TestTerminalPrompts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r, prompts := f.runTTY(t, []string{testPassword, testPassword + "x", testPassword, testPassword},
		"register", "--token", f.srv.RegistrationToken("trader2"))
	wantCode(t, r, 0)
	if len(prompts) != 4 || prompts[0] != "Password: " || prompts[1] != "Repeat password: " || !strings.Contains(r.err, "differ") {
		t.Errorf("prompts %q, stderr %q", prompts, r.err)
	}
	tok := f.srv.RegistrationToken(testUser)
	r, prompts = f.runTTY(t, []string{tok, testPassword, testPassword}, "register")
	wantCode(t, r, 0)
	if len(prompts) != 3 || prompts[0] != "Registration token: " {
		t.Errorf("prompts %q", prompts)
	}
	r, prompts = f.runTTY(t, []string{testPassword}, "login", "--username", testUser)
	wantCode(t, r, 0)
	if len(prompts) != 1 || prompts[0] != "Password for trader1: " {
		t.Errorf("prompts %q", prompts)
	}
	r, prompts = f.runTTY(t, []string{testPassword, newPassword, newPassword}, "change-password")
	wantCode(t, r, 0)
	if len(prompts) != 3 || prompts[0] != "Current password for trader1: " || prompts[2] != "Repeat new password: " {
		t.Errorf("prompts %q", prompts)
	}
	for _, p := range []string{testPassword, newPassword, tok} {
		if strings.Contains(r.out+r.err, p) {
			t.Errorf("a secret was echoed")
		}
	}
}

// TestStatusAfterSessionEnded: when the exchange rejects the refresh token,
// the stored record becomes the ended session's tombstone and `status` says
// the session ended (not merely "not logged in").
func TestStatusAfterSessionEnded(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	f.srv.RevokeRefreshTokens(testUser)
	wantCode(t, f.run(t, "", "refresh"), exitNotLoggedIn, "ended")
	r := f.run(t, "", "status")
	wantCode(t, r, exitNotLoggedIn, "ended")
	if rec, err := f.record(t, keystore.ItemSession); err != nil || !rec.Ended() || rec.LoggedOut {
		t.Fatalf("the stored record after the rejection: %v, want the ended session's tombstone", err)
	}
}
