package cli

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// doctorLines returns the status word of each line doctor printed, by
// check name.
func doctorLines(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("short line %q", line)
		}
		for _, name := range []string{"reachability", "clock skew", "stored session", "access token", "trial refresh",
			"isv key", "isv public key", "isv assertion", "isv token", "isv scopes", "isv participant", "isv"} {
			if strings.HasPrefix(strings.TrimSpace(line[len(f[0]):]), name+" ") {
				got[name] = f[0]
				break
			}
		}
	}
	return got
}

func TestDoctorHealthySession(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	r := f.run(t, "", "doctor")
	wantCode(t, r, 0)
	lines := doctorLines(t, r.out)
	for _, name := range []string{"reachability", "clock skew", "stored session", "access token", "trial refresh"} {
		if lines[name] != "ok" {
			t.Errorf("%s: %q, want ok\n%s", name, lines[name], r.out)
		}
	}
	if lines["isv"] != "skip" || len(lines) != 6 {
		t.Errorf("want 6 lines, isv skipped:\n%s", r.out)
	}
	for _, line := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(line, "ok ") && strings.Contains(line, "→") {
			t.Errorf("a fix printed for a passing check: %s", line)
		}
	}

	r = f.run(t, "", "doctor", "--json")
	wantCode(t, r, 0)
	var rep struct {
		OK     bool
		Status string
		Checks []struct{ Name, Status, Saw, Fix string }
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	// Issue 12 item 9: every check passed (the ISV one skipped for want of
	// flags) says "ok".
	if !rep.OK || rep.Status != "ok" || len(rep.Checks) != 6 || rep.Checks[0].Status != "ok" {
		t.Errorf("--json report: %+v", rep)
	}
}

func TestDoctorFailures(t *testing.T) {
	t.Parallel()
	t.Run("revoked refresh token", func(t *testing.T) {
		t.Parallel()
		f := setup(t).withUser(t)
		f.login(t)
		f.srv.RevokeRefreshTokens(testUser)
		r := f.run(t, "", "doctor")
		wantCode(t, r, exitFailure, "1 of 6 checks failed: trial refresh")
		if !strings.Contains(r.out, "FAIL trial refresh") || !strings.Contains(r.out, "→ run `pmx-login login`") {
			t.Errorf("stdout:\n%s", r.out)
		}
		if rec, err := f.record(t, "session"); err != nil || rec.RefreshToken.IsZero() {
			t.Errorf("doctor changed the stored session: %v", err)
		}
	})
	t.Run("not logged in", func(t *testing.T) {
		t.Parallel()
		f := setup(t).withUser(t)
		r := f.run(t, "", "doctor", "--username", testUser)
		wantCode(t, r, exitFailure, "stored session")
		if !strings.Contains(r.out, "FAIL stored session") || !strings.Contains(r.out, "run `pmx-login login`") {
			t.Errorf("stdout:\n%s", r.out)
		}
	})
	t.Run("wrong Host", func(t *testing.T) {
		t.Parallel()
		f := setup(t).withUser(t)
		f.login(t)
		r := f.run(t, "", "doctor", "--host", "rest.prod.polymarketexchange.com", "--json")
		wantCode(t, r, exitFailure, "reachability")
		if !strings.Contains(r.out, `"status": "fail"`) || !strings.Contains(r.out, "the Host override is missing or wrong") {
			t.Errorf("stdout:\n%s", r.out)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		f := setup(t).withUser(t)
		f.login(t)
		f.vars["PMX_BASE_URL"] = closedURL(t)
		r := f.run(t, "", "doctor")
		wantCode(t, r, exitFailure, "reachability", "trial refresh")
		if !strings.Contains(r.out, "FAIL reachability     TCP") || !strings.Contains(r.out, "skip clock skew") {
			t.Errorf("stdout:\n%s", r.out)
		}
	})
}

func TestDoctorISV(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	auth := traderapitest.NewAuthServer(traderapitest.AuthOptions{})
	authSrv := httptest.NewServer(auth)
	t.Cleanup(authSrv.Close)
	key, err := isvkit.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	auth.RegisterClient("client-1", &key.PublicKey, []string{"read:positions"})
	pub, _ := isvkit.MarshalPublicKeyPEM(&key.PublicKey)
	keyFile := writeFile(t, "private_key.pem", string(isvkit.MarshalPrivateKeyPEM(key)))
	pubFile := writeFile(t, "public_key.pem", string(pub))
	isvArgs := []string{"doctor", "--client-id", "client-1", "--key", keyFile, "--public-key", pubFile,
		"--auth-url", authSrv.URL, "--endpoint", "GET /v1/positions"}

	r := f.run(t, "", append(isvArgs, "--participant-id", "firms/F/users/bot")...)
	wantCode(t, r, 0)
	for name, st := range doctorLines(t, r.out) {
		if st != "ok" {
			t.Errorf("%s: %s\n%s", name, st, r.out)
		}
	}

	r = f.run(t, "", append(isvArgs, "--endpoint", "POST /v1/trading/orders")...)
	wantCode(t, r, exitFailure, "isv scopes", "isv participant")
	for _, want := range []string{"FAIL isv scopes", "ask Polymarket support to grant write:orders to client ID client-1",
		"FAIL isv participant", "give --participant-id"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "PRIVATE KEY") {
		t.Errorf("the key leaked:\n%s", r.out)
	}

	assertion := writeFile(t, "assertion.jwt", "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjbGllbnQtMSJ9.c2ln\n")
	r = f.run(t, "", append(isvArgs, "--participant-id", "firms/F/users/bot", "--assertion-file", assertion)...)
	wantCode(t, r, exitFailure, "isv assertion")
	if !strings.Contains(r.out, "FAIL isv assertion") || !strings.Contains(r.out, "sign with RS256") {
		t.Errorf("stdout:\n%s", r.out)
	}

	r = f.run(t, "", "doctor", "--endpoint", "GET /v1/positions")
	wantCode(t, r, exitUsage, "the ISV checks need --client-id and --key")
}
