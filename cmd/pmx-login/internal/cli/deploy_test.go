package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// deployDir is the repository's deploy/ directory.
const deployDir = "../../../../deploy"

// lookTool returns the path of a real tool, or skips (fails in CI).
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tooltest.Skip(t, name+" is not installed", "apt-get install "+pkg)
	}
	return p
}

// TestAlertRules: the shipped alerting rules pass `promtool check rules`
// and their unit tests (`promtool test rules`).
func TestAlertRules(t *testing.T) {
	t.Parallel()
	promtool := lookTool(t, "promtool", "prometheus")
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{{"check", "rules", "pmx-login-alerts.yml"}, {"test", "rules", "pmx-login-alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestSystemdUnit: the user unit passes `systemd-analyze verify`, and the
// flags of its ExecStart are the agent's.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile(filepath.Join(deployDir, "systemd", "pmx-login-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/pmx-login (.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart=/usr/local/bin/pmx-login in the unit")
	}
	bin := pmxBinary(t)
	args := append(strings.Fields(string(m[1])), "--help")
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("pmx-login %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	analyze := lookTool(t, "systemd-analyze", "systemd")
	tmp := t.TempDir()
	path := filepath.Join(tmp, "pmx-login-agent.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/pmx-login", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--user", path)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestKubernetesExampleArgs: the agent's arguments in the Kubernetes
// example are accepted by the agent.
func TestKubernetesExampleArgs(t *testing.T) {
	t.Parallel()
	y, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", "bot-with-agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`args: \["agent", (.*)\]`).FindSubmatch(y)
	if m == nil {
		t.Fatal("no agent args in the example")
	}
	args := []string{"agent"}
	for _, a := range strings.Split(string(m[1]), ", ") {
		args = append(args, strings.Trim(a, `"`))
	}
	if out, err := exec.Command(pmxBinary(t), append(args, "--help")...).CombinedOutput(); err != nil {
		t.Fatalf("pmx-login %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
