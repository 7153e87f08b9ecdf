package tooltest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipIsListedOrFails: a skipped test is listed with how to run it; with
// PMX_REQUIRE_TOOLS=1 the same test fails (run in a child process).
func TestSkipIsListedOrFails(t *testing.T) {
	if os.Getenv("TOOLTEST_CHILD") == "1" {
		Skip(t, "frobnicate is not installed", "apt-get install frobnicate")
		return
	}
	for _, require := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipIsListedOrFails$", "-test.v")
		cmd.Env = append(os.Environ(), "TOOLTEST_CHILD=1", EnvRequire+"="+require)
		out, err := cmd.CombinedOutput()
		switch {
		case require == "" && (err != nil || !strings.Contains(string(out), "--- SKIP")):
			t.Fatalf("without %s the test should skip: %v\n%s", EnvRequire, err, out)
		case require == "1" && (err == nil || !strings.Contains(string(out), "apt-get install frobnicate")):
			t.Fatalf("with %s=1 the test should fail, saying how to run it: %v\n%s", EnvRequire, err, out)
		}
	}
	skipped.notes = map[string]string{"TestX": "x is missing: to run it, install x"}
	var b bytes.Buffer
	writeNote(&b, "pkg")
	skipped.notes = nil
	if b.String() != "pkg: 1 real-tool test(s) skipped:\n  TestX: x is missing: to run it, install x\n" {
		t.Fatalf("note = %q", b.String())
	}
}
