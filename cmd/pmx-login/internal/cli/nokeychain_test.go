//go:build linux

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Issue 12 item 2, as reported: with the default keyring and no Secret
// Service (the session bus address points nowhere), login stops before it
// reads the password or calls the exchange, and says to use --keystore file.
func TestLoginWithoutSecretServiceSpendsNothing(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	cmd := exec.Command(pmxBinary(t), "login", "--username", testUser, "--password-stdin")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + f.dir + "/no-such-bus",
		"PMX_BASE_URL=" + f.vars["PMX_BASE_URL"], "PMX_HOST=" + f.vars["PMX_HOST"], "PMX_KEYSTORE=keyring"}
	cmd.Stdin = strings.NewReader(testPassword + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitFailure {
		t.Fatalf("exit %d (%v), want %d:\n%s", code, err, exitFailure, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--keystore file") || !strings.Contains(stderr.String(), "checked before asking for anything") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if n := f.srv.Calls(traderapi.PathLogin); n != 0 {
		t.Errorf("login called %d times without a usable keychain: the password was spent", n)
	}
}
