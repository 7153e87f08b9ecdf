package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/traderapi"
)

var exportLine = regexp.MustCompile(`(?m)^export ([A-Z_]+)=(\S+)$`)

// sandboxExports are the variables the sandbox prints.
var sandboxExports = []string{"PMX_BASE_URL", "PMX_HOST", "PMX_ENV", "PMX_KEYSTORE", "XDG_CONFIG_HOME", "PMX_SANDBOX_DIR",
	"PMX_AUTH_URL", "PMX_AUDIENCE", "PMX_API_URL", "PMX_CLIENT_ID", "PMX_KEY_FILE"}

// sandboxDone is the last line the sandbox prints at start.
const sandboxDone = "#   (own key:"

// Issue 12 items 12, 13 and 14: sandbox prints the export lines of the
// trader and the ISV side, no secret (the registration token and the ISV key
// are in files), serves both sides until its context ends with the token
// lifetimes asked for, and removes its directory.
func TestSandbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb helperproc.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"sandbox", "--access-ttl", "2m", "--refresh-ttl", "10m"}, IOStreams{Out: &out, Err: &errb})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), sandboxDone) {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox did not start:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	vars := map[string]string{}
	for _, m := range exportLine.FindAllStringSubmatch(out.String(), -1) {
		vars[m[1]] = m[2]
	}
	for _, k := range sandboxExports {
		if vars[k] == "" {
			t.Errorf("sandbox printed no %s:\n%s", k, out.String())
		}
	}
	if vars["PMX_ENV"] != "preprod" || vars["PMX_KEYSTORE"] != "file" || vars["PMX_HOST"] != "rest.preprod.polymarketexchange.com" ||
		!strings.HasPrefix(vars["PMX_BASE_URL"], "http://127.0.0.1:") {
		t.Fatalf("sandbox export lines: %v\n%s", vars, out.String())
	}
	if fi, err := os.Stat(vars["XDG_CONFIG_HOME"]); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Fatalf("sandbox config dir: %v %v", fi, err)
	}
	if strings.Contains(out.String(), "eyJ") || strings.Contains(out.String(), "PRIVATE KEY") || strings.Contains(out.String(), "--token ") {
		t.Errorf("sandbox printed a secret or a --token example:\n%s", out.String())
	}

	// The printed lines are enough to register, log in and use the ISV side.
	f := &fixture{vars: vars}
	f.must(t, testPassword+"\n", "register", "--token-file", vars["PMX_SANDBOX_DIR"]+"/registration.jwt", "--password-stdin")
	f.login(t)
	r := f.must(t, "", "token", "--json")
	if !strings.Contains(r.out, `"token": "eyJ`) {
		t.Fatalf("token against the sandbox: %v", r)
	}
	r = f.must(t, "", "status", "--json")
	if !regexp.MustCompile(`"access_expires_in": 1[0-2][0-9]`).MatchString(r.out) {
		t.Errorf("--access-ttl 2m: status says %s", r.out)
	}
	r = f.must(t, "", "isv", "status")
	if !strings.Contains(r.out, "write:orders") || !strings.Contains(r.out, "client id:      "+sandboxClientID) {
		t.Errorf("isv status against the sandbox: %v", r)
	}
	if r = f.must(t, "", "isv", "token"); !strings.HasPrefix(r.out, "eyJ") {
		t.Errorf("isv token against the sandbox: %v", r)
	}
	r = f.must(t, "", "doctor", "--json", "--client-id", vars["PMX_CLIENT_ID"], "--key", vars["PMX_KEY_FILE"])
	if !strings.Contains(r.out, `"status": "ok"`) {
		t.Errorf("doctor --json with every check passed: %s", r.out)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("sandbox exited %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop when its context ended")
	}
	if _, err := os.Stat(vars["XDG_CONFIG_HOME"]); !os.IsNotExist(err) {
		t.Errorf("the sandbox left its config directory behind: %v", err)
	}
	c, _ := traderapi.NewClient(traderapi.Environment{Name: "preprod", BaseURL: vars["PMX_BASE_URL"], Host: vars["PMX_HOST"]})
	if _, err := c.CheckPassword(t.Context(), traderapi.CheckPasswordRequest{Password: testPassword}); err == nil {
		t.Errorf("the sandbox still answers after it stopped")
	}
}

// demo walks every step and exits 0, printing no whole token.
func TestDemo(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := Main(t.Context(), []string{"demo"}, IOStreams{Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("demo exited %d:\n%s\n%s", code, out.String(), errb.String())
	}
	steps := []string{"check-password", "register", "login", "mfa enroll", "mfa confirm", "login without a code",
		"login with a code", "token", "a trading call", "refresh", "status", "change-password", "logout", "token after logout",
		"isv keygen", "isv token", "isv api call"}
	got := regexp.MustCompile(`(?m)^✓ ([^:]+):`).FindAllStringSubmatch(out.String(), -1)
	if len(got) != len(steps) {
		t.Fatalf("demo printed %d steps, want %d:\n%s", len(got), len(steps), out.String())
	}
	for i, s := range steps {
		if got[i][1] != s {
			t.Errorf("step %d is %q, want %q", i, got[i][1], s)
		}
	}
	if !strings.Contains(out.String(), "█") || strings.Contains(out.String(), "\x1b") {
		t.Errorf("demo showed no QR code, or escape codes on a stdout that is not a terminal")
	}
	if jwt := regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+`).FindString(out.String() + errb.String()); jwt != "" {
		t.Errorf("demo printed a token: %s…", jwt[:12])
	}
	if strings.Contains(out.String(), "secret=") || strings.Contains(out.String(), "demo-") {
		t.Errorf("demo printed a secret or a password")
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"version"}, IOStreams{Out: &out}); code != 0 {
		t.Fatalf("version exited %d", code)
	}
	if !regexp.MustCompile(`^pmx-login \S+ \(` + regexp.QuoteMeta(runtime.Version()) + `, `).MatchString(out.String()) {
		t.Errorf("version printed %q", out.String())
	}
	out.Reset()
	Main(t.Context(), []string{"version", "--json"}, IOStreams{Out: &out})
	if !strings.Contains(out.String(), `"go": "`+runtime.Version()+`"`) {
		t.Errorf("version --json printed %q", out.String())
	}
}
