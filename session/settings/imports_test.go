package settings_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreLinksNoBackend fails when session, session/isv, mfa or the
// keystore core link a keystore backend's third-party code again: a bot
// that keeps its session in memory or a file must not carry go-redis or
// go-keyring (and D-Bus). Only this package, above them, imports the
// backends.
func TestCoreLinksNoBackend(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	for _, pkg := range []string{"./session", "./session/isv", "./mfa", "./keystore"} {
		cmd := exec.CommandContext(t.Context(), gobin, "list", "-deps", pkg)
		cmd.Dir = "../.." // the module root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"github.com/redis/go-redis", "github.com/zalando/go-keyring", "github.com/godbus/dbus"} {
				if strings.HasPrefix(dep, banned) {
					t.Errorf("%s links %s: import the backend from package settings (or a test), not from the core", pkg, dep)
				}
			}
		}
	}
}
