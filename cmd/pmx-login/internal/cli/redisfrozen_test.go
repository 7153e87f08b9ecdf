package cli

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFrozenRedisIsTheKeystoresFailure: with Redis frozen (SIGSTOP: it
// accepts connections and never answers), `pmx-login token --timeout 2s`
// without an agent ends within its timeout, exits 1 (the keystore's
// failure, not 5, the exchange's) and names Redis in one line; with Redis
// gone, the same: one line (go-redis's own log lines are not printed).
func TestFrozenRedisIsTheKeystoresFailure(t *testing.T) {
	t.Parallel()
	r := newRedisAgentRig(t, time.Hour)
	r.login(t)
	pmxBinary(t) // built before the clock starts
	rs := r.redis
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	defer rs.Continue()
	start := time.Now()
	_, errOut, err := r.pmx(t, "token", "--no-agent", "--timeout", "2s")
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	lines := strings.Split(strings.TrimSpace(stripWarning(errOut)), "\n")
	t.Logf("frozen Redis: exit %d after %v: %s", code, took.Round(time.Millisecond), errOut)
	if code != exitFailure || len(lines) != 1 || !strings.Contains(strings.ToLower(lines[0]), "redis") {
		t.Fatalf("exit %d, stderr %q: want exit %d and one line naming Redis", code, errOut, exitFailure)
	}
	if took > 2*time.Second+time.Second { // the timeout, and the process's own start
		t.Errorf("took %v with --timeout 2s", took)
	}
	_ = rs.Continue()
	rs.Kill()
	_, errOut, err = r.pmx(t, "token", "--no-agent", "--timeout", "2s")
	if lines := strings.Split(strings.TrimSpace(stripWarning(errOut)), "\n"); err == nil || len(lines) != 1 {
		t.Fatalf("Redis gone: %v, stderr:\n%s", err, errOut)
	}
}

// stripWarning drops the custom-environment warning the rig's sandbox
// environment prints.
func stripWarning(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "warning: --env") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
