package redistest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	c := s.Client(t)
	if err := c.Set(t.Context(), "a", "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	select {
	case <-s.Exited():
	default:
		t.Fatal("Kill returned before the process exited")
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	rc := c.Client(t)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := rc.Set(t.Context(), k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	t.Parallel()
	s := StartSentinel(t)
	c := s.Client(t)
	if err := c.Set(t.Context(), "a", "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.KillMaster(t)
	if err := c.Set(t.Context(), "a", "c", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRequire runs TestServer again with no redis-server on PATH: it is
// skipped with a message, or fails under PMX_REQUIRE_TOOLS=1.
func TestRequire(t *testing.T) {
	if os.Getenv("PMX_REDISTEST_CHILD") == "1" {
		t.Skip("child")
	}
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for require, want := range map[string]string{"": "--- SKIP: TestServer", "1": "--- FAIL: TestServer"} {
		cmd := exec.CommandContext(t.Context(), self, "-test.run=^TestServer$", "-test.v")
		cmd.Env = append(os.Environ(), "PATH="+t.TempDir(), "PMX_REQUIRE_TOOLS="+require, "PMX_REDISTEST_CHILD=1")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "redis-server is not installed") {
			t.Errorf("PMX_REQUIRE_TOOLS=%q: want %q and a message:\n%s", require, want, out)
		}
	}
}
