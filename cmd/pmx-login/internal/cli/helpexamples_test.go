package cli

import (
	"regexp"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"
)

// Issue 12 item 8: a group's --help lists the group's commands, not the
// top-level help.
func TestGroupHelp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, group := range []string{"mfa", "isv"} {
		for _, args := range [][]string{{group, "--help"}, {"help", group}} {
			r := f.run(t, "", args...)
			wantCode(t, r, 0)
			if strings.Contains(r.out, "Exit codes:") || strings.Contains(r.out, "  login ") {
				t.Errorf("%v prints the top-level help:\n%s", args, r.out)
			}
			for _, name := range groupCommands(group) {
				if !strings.Contains(r.out, "  "+name+" ") {
					t.Errorf("%v lacks %q:\n%s", args, name, r.out)
				}
			}
		}
	}
}

// Issue 12 items 8 and 14: help speaks of no seed, shows no `--token ps`,
// and its examples keep secrets out of argv (--token-file, --otp -).
func TestHelpTexts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var all strings.Builder
	for _, c := range commands() {
		all.WriteString(f.run(t, "", append(strings.Fields(c.name), "--help")...).out)
	}
	all.WriteString(f.run(t, "", "--help").out)
	text := all.String()
	for _, bad := range []string{"seed 0", "--token ps", "--otp 123456", "--otp CODE   (", `--otp "$(`, "register --token '", "decode eyJ"} {
		if strings.Contains(text, bad) {
			t.Errorf("help holds %q", bad)
		}
	}
	for _, want := range []string{"--token-file", "--otp -", "decode -"} {
		if !strings.Contains(text, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// Issue 12 item 8: token --help's curl example works when pasted, against
// the local exchange (it needs the Host header).
func TestTokenHelpCurlExampleWorks(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		skipTool(t, "curl is not installed", "apt-get install curl, then go test -count=1 ./cmd/pmx-login/...")
	}
	f := setup(t).withUser(t)
	f.login(t)
	r := f.must(t, "", "token", "--help")
	i := strings.Index(r.out, "Example:\n")
	lines := strings.Split(r.out[i+len("Example:\n"):], "\n")
	example := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		if !strings.HasSuffix(strings.TrimSpace(example), "\\") {
			break
		}
		example = strings.TrimSuffix(example, "\\") + " " + strings.TrimSpace(l)
	}
	if !strings.HasPrefix(example, "curl ") {
		t.Fatalf("the example is not a curl command: %q", example)
	}
	bin := pmxBinary(t)
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "pmx-login")); err != nil {
		t.Fatal(err)
	}
	order := filepath.Join(dir, "order.json")
	if err := os.WriteFile(order, []byte(`{"symbol":"aec-nfl-buf-nyj-2025-01-15","side":"SIDE_BUY","order_qty":"1","price":"0.5"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", strings.Replace(example, "curl ", curl+" -sS -o /dev/null -w '%{http_code}' ", 1))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "HOME=" + f.dir}
	for k, v := range f.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil || string(out) != "200" {
		t.Errorf("the pasted example %q answered %q, %v", example, out, err)
	}
}

// Issue 12 item 9: escape codes only on a terminal, and never with NO_COLOR.
func TestNoEscapeCodesOffTerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tty     bool
		noColor string
		want    bool
	}{{false, "", false}, {true, "1", false}, {true, "", true}} {
		f := setup(t).withUser(t)
		if tc.noColor != "" {
			f.vars["NO_COLOR"] = tc.noColor
		}
		r := f.runStreams(t, IOStreams{In: strings.NewReader(testPassword + "\n"), OutTTY: tc.tty},
			"mfa", "enroll", "--username", testUser, "--password-stdin")
		wantCode(t, r, 0)
		if got := strings.Contains(r.out+r.err, "\x1b"); got != tc.want || !strings.Contains(r.out, "█") {
			t.Errorf("terminal %t, NO_COLOR %q: escape codes %t, want %t", tc.tty, tc.noColor, got, tc.want)
		}
	}
}

// Issue 12 item 9: status right after mfa confirm says MFA is on.
func TestStatusAfterMFAConfirm(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.now = f.srv.Now
	f.login(t)
	r := f.must(t, testPassword+"\n", "mfa", "enroll", "--show-secret", "--password-stdin")
	m := regexp.MustCompile(`secret for manual entry: ([A-Z2-7 ]+)`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no secret shown: %v", r)
	}
	code, err := totp.GenerateCode(strings.ReplaceAll(m[1], " ", ""), f.srv.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, testPassword+"\n", "mfa", "confirm", "--otp", code, "--password-stdin")
	if r = f.must(t, "", "status", "--json"); !strings.Contains(r.out, `"mfa": "on"`) {
		t.Errorf("status after mfa confirm: %s", r.out)
	}
}
