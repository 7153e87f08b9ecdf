package doctor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func names(r Report) []string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.Name)
	}
	return out
}

func TestRunHealthySession(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	rep := Run(t.Context(), tb.config())
	wantNames := []string{NameReachability, NameClock, NameSession, NameAccessToken, NameRefresh, NameISV}
	if got := names(rep); !slices.Equal(got, wantNames) {
		t.Fatalf("checks %v, want %v", got, wantNames)
	}
	for _, c := range rep.Checks[:5] {
		if c.Status != OK || c.Fix != "" {
			t.Errorf("%s", c)
		}
	}
	if c, _ := rep.Find(NameISV); c.Status != Skipped {
		t.Errorf("%s", c)
	}
	if !rep.OK() || rep.Worst() != Skipped {
		t.Errorf("OK() = %v, Worst() = %s, want true, skipped", rep.OK(), rep.Worst())
	}
	// Nothing secret in the report.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	rec := tb.record(t)
	for _, s := range []string{rec.AccessToken.Reveal(), rec.RefreshToken.Reveal(), rec.AccessToken.Reveal()[:24], password.Reveal()} {
		if strings.Contains(string(b), s) {
			t.Errorf("the report holds a secret: %s", b)
		}
	}
}

func TestRunHealthyPartner(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	b := setupISV(t, "read:positions")
	cfg := tb.config()
	cfg.ISV = b.config("GET /v1/positions").ISV
	rep := Run(t.Context(), cfg)
	for _, c := range rep.Checks {
		if c.Status != OK {
			t.Errorf("%s", c)
		}
	}
	if len(rep.Checks) != 11 || rep.Worst() != OK {
		t.Errorf("%d checks, worst %s; want 11, ok", len(rep.Checks), rep.Worst())
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	tb.ex.Advance(10 * time.Minute)
	tb.ex.RevokeRefreshTokens(user)
	rep := Run(t.Context(), tb.config())
	if rep.OK() || rep.Worst() != Fail {
		t.Fatalf("OK() = %v, Worst() = %s; want false, fail", rep.OK(), rep.Worst())
	}
	for name, st := range map[string]Status{NameReachability: OK, NameClock: Fail, NameSession: OK, NameRefresh: Fail} {
		if c, ok := rep.Find(name); !ok || c.Status != st {
			t.Errorf("%s: %s, want %s", name, c, st)
		}
	}
}

func TestRunHonoursContext(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	tb.ex.InjectFault(traderapitest.AnyPath, traderapitest.Fault{Latency: time.Minute})
	cfg := tb.config()
	cfg.Timeout = 200 * time.Millisecond
	start := time.Now()
	rep := Run(t.Context(), cfg)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %s with a 200ms step timeout", d)
	}
	want(t, rep.Checks[0], Fail, "HTTP request failed", "did not answer")
	want(t, rep.Checks[4], Fail, "the refresh failed", "")
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	rep := Report{Checks: []Check{
		{Name: NameReachability, Status: OK, Saw: "fine"},
		{Name: NameClock, Status: Warn, Saw: "45s behind", Fix: "NTP"},
	}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"ok":true,"status":"warn","checks":[{"name":"reachability","status":"ok","saw":"fine"},` +
		`{"name":"clock skew","status":"warn","saw":"45s behind","fix":"NTP"}]}`
	if string(b) != wantJSON {
		t.Errorf("JSON\n %s\nwant\n %s", b, wantJSON)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.Checks, rep.Checks) {
		t.Errorf("round trip: %v, %+v", err, back)
	}
	if b, _ := json.Marshal(Report{}); string(b) != `{"ok":true,"status":"ok","checks":[]}` {
		t.Errorf("empty report: %s", b)
	}
	var s Status
	if err := s.UnmarshalText([]byte("fine")); err == nil {
		t.Error("UnmarshalText accepted an unknown status")
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	var zero Status
	if zero.String() != "unknown" || OK.String() != "ok" || Warn.String() != "warn" || Fail.String() != "fail" || Skipped.String() != "skipped" {
		t.Error("Status.String")
	}
	// A check left unset is never taken for a pass.
	rep := Report{Checks: []Check{{Name: "x"}}}
	if rep.OK() || rep.Worst() != zero {
		t.Errorf("a zero status: OK() = %v, Worst() = %s", rep.OK(), rep.Worst())
	}
	rep = Report{Checks: []Check{{Status: Skipped}, {Status: OK}, {Status: Warn}, {Status: Skipped}}}
	if !rep.OK() || rep.Worst() != Warn {
		t.Errorf("OK() = %v, Worst() = %s", rep.OK(), rep.Worst())
	}
}

func TestCleanRedacts(t *testing.T) {
	t.Parallel()
	c := newCheck("x", Fail, "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\nnext line", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----")
	if strings.Contains(c.Saw, "eyJ") || strings.Contains(c.Saw, "\n") || strings.Contains(c.Fix, "MIIE") {
		t.Errorf("not cleaned: %s", c)
	}
	if long := newCheck("x", OK, strings.Repeat("a", 1000), ""); len(long.Saw) > 610 {
		t.Errorf("saw not cut: %d bytes", len(long.Saw))
	}
}
