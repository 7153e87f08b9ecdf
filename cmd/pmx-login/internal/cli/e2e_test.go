package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
)

// startSandbox runs `pmx-login sandbox` and returns its export lines and
// registration token; it is interrupted when the test ends.
func startSandbox(t *testing.T, bin string, env []string) (map[string]string, string, string) {
	t.Helper()
	cmd := exec.Command(bin, "sandbox", "--addr", "127.0.0.1:0")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil || !strings.Contains(stderr.String(), "sandbox stopped") {
				t.Errorf("sandbox did not stop cleanly: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("sandbox did not stop on SIGINT")
		}
	})
	vars := map[string]string{}
	var printed strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		printed.WriteString(line + "\n")
		if m := exportLine.FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
		}
		if strings.HasPrefix(line, sandboxDone) {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(vars["PMX_SANDBOX_DIR"], "registration.jwt"))
	token := strings.TrimSpace(string(b))
	if err != nil || len(vars) != len(sandboxExports) {
		t.Fatalf("sandbox printed %v, token file %v; stderr:\n%s", vars, err, stderr.String())
	}
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(new(bytes.Buffer)) }()
	return vars, token, printed.String()
}

// e2eStep is one subprocess run of the end-to-end test.
type e2eStep struct {
	args  []string
	stdin string
	code  int
	// out, when set, must be in stdout.
	out string
}

// The built binary drives every command in sequence against `pmx-login
// sandbox`, with the file keystore in a temporary XDG_CONFIG_HOME and
// --debug on. All of their stdout and stderr together hold no password, no
// refresh token, no TOTP secret, no registration token, and no access token
// except on the stdout of `token`.
func TestEndToEndSubprocess(t *testing.T) {
	t.Parallel()
	bin := pmxBinary(t)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	vars, regToken, printed := startSandbox(t, bin, base)
	cfg := t.TempDir()
	env := append(base, "XDG_CONFIG_HOME="+cfg)
	for _, k := range []string{"PMX_BASE_URL", "PMX_HOST", "PMX_ENV", "PMX_KEYSTORE",
		"PMX_AUTH_URL", "PMX_AUDIENCE", "PMX_API_URL", "PMX_CLIENT_ID", "PMX_KEY_FILE"} {
		env = append(env, k+"="+vars[k])
	}
	tokFile := writeFile(t, "registration.jwt", regToken+"\n")
	qrFile := filepath.Join(t.TempDir(), "qr.png")
	pw, newPw := testPassword+"\n", newPassword+"\n"
	u := []string{"--username", testUser}

	secrets := map[string]string{testPassword: "password", newPassword: "new password", regToken: "registration token"}
	access := map[string]bool{}
	var all, tokenOut strings.Builder
	fmt.Fprintf(&all, "== sandbox stdout\n%s", printed)
	collect := func() {
		b, err := os.ReadFile(filepath.Join(cfg, "pmx-login", "preprod", testUser+".session.json"))
		if err == nil {
			rec, err := keystore.Decode(b)
			if err != nil {
				t.Fatalf("the session file does not decode: %v", err)
			}
			if !rec.RefreshToken.IsZero() { // a logout's tombstone holds none
				secrets[rec.RefreshToken.Reveal()] = "refresh token"
			}
			if !rec.AccessToken.IsZero() {
				access[rec.AccessToken.Reveal()] = true
			}
		}
		if b, err := os.ReadFile(filepath.Join(cfg, "pmx-login", "preprod", testUser+".totp.json")); err == nil {
			rec, err := keystore.Decode(b)
			if err != nil {
				t.Fatalf("the TOTP file does not decode: %v", err)
			}
			e, err := mfa.ParseURL(rec.OTPAuthURL.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			secrets[e.Secret.Reveal()] = "TOTP secret"
			secrets[e.ManualKey()] = "TOTP secret"
		}
	}
	run := func(s e2eStep) string {
		t.Helper()
		args := append([]string{"--debug"}, s.args...)
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(s.stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code != s.code {
			t.Fatalf("pmx-login %s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, err, s.code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), s.out) {
			t.Errorf("pmx-login %s: stdout lacks %q:\n%s", strings.Join(args, " "), s.out, stdout.String())
		}
		if s.args[0] == "token" || strings.Join(s.args[:min(2, len(s.args))], " ") == "isv token" {
			tokenOut.WriteString(stdout.String())
		} else {
			fmt.Fprintf(&all, "== %s stdout\n%s", strings.Join(args, " "), stdout.String())
		}
		fmt.Fprintf(&all, "== %s stderr\n%s", strings.Join(args, " "), stderr.String())
		collect()
		return stdout.String()
	}
	nextCode := func() string {
		var secret string
		for s, what := range secrets {
			if what == "TOTP secret" && !strings.Contains(s, " ") {
				secret = s
			}
		}
		c, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the next window: this one's code is used
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	run(e2eStep{args: []string{"version"}, out: "pmx-login "})
	run(e2eStep{args: []string{"check-password", "--password-stdin"}, stdin: pw, out: "meets the exchange's policy"})
	run(e2eStep{args: []string{"register", "--token-file", tokFile, "--password-stdin"}, stdin: pw, out: "Registered trader1"})
	run(e2eStep{args: append([]string{"login", "--password-stdin"}, u...), stdin: "wrong-password-42\n", code: exitRejected})
	run(e2eStep{args: append([]string{"login", "--password-stdin"}, u...), stdin: pw, out: "Logged in to preprod as trader1"})
	run(e2eStep{args: []string{"status"}, out: "logged in:   yes"})
	run(e2eStep{args: []string{"status", "--json"}, out: `"logged_in": true`})
	tok1 := strings.TrimSpace(run(e2eStep{args: []string{"token"}}))
	run(e2eStep{args: []string{"refresh"}, out: "Refreshed"})
	tok2 := strings.TrimSpace(run(e2eStep{args: []string{"token"}}))
	run(e2eStep{args: []string{"mfa", "enroll", "--store-secret", "--qr-png", qrFile, "--password-stdin"}, stdin: pw, out: "Scan this QR code"})
	code := strings.TrimSpace(run(e2eStep{args: []string{"mfa", "code"}}))
	run(e2eStep{args: []string{"mfa", "confirm", "--otp", code, "--password-stdin"}, stdin: pw, out: "MFA is on"})
	// The same code again, by --otp - and by PMX_OTP_COMMAND: refused
	// before it is sent, as already used.
	run(e2eStep{args: append([]string{"login", "--password-stdin", "--otp", "-"}, u...), stdin: pw + code + "\n", code: exitRejected})
	run(e2eStep{args: append([]string{"login", "--password-stdin", "--otp", "-"}, u...), stdin: pw + "12345\n", code: exitUsage})
	run(e2eStep{args: append([]string{"login", "--password-stdin", "--otp", nextCode()}, u...), stdin: pw, out: "Logged in"})
	tok3 := strings.TrimSpace(run(e2eStep{args: []string{"token"}}))
	run(e2eStep{args: []string{"change-password", "--password-stdin"}, stdin: pw + newPw, out: "changed"})
	run(e2eStep{args: []string{"logout"}, out: "Logged out trader1"})
	run(e2eStep{args: []string{"token"}, code: exitNotLoggedIn})

	// The ISV side of the sandbox: its key stays in its file, its tokens on
	// the stdout of `isv token` only.
	keyPEM, err := os.ReadFile(vars["PMX_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			secrets[line] = "ISV private key"
		}
	}
	isvTok := strings.TrimSpace(run(e2eStep{args: []string{"isv", "token"}}))
	if !strings.HasPrefix(isvTok, "eyJ") {
		t.Fatalf("isv token against the sandbox printed %d bytes", len(isvTok))
	}
	access[isvTok] = true
	run(e2eStep{args: []string{"isv", "status"}, out: "write:orders"})
	run(e2eStep{args: []string{"doctor", "--json"}, out: `"name": "isv token",
      "status": "ok"`})
	run(e2eStep{args: []string{"isv", "token", "--client-id", "nobody"}, code: exitRejected})

	if tok1 == "" || tok1 == tok2 || tok2 == tok3 || !access[tok1] || !access[tok2] || !access[tok3] {
		t.Fatalf("token printed %d/%d/%d bytes: want three different access tokens, the ones stored", len(tok1), len(tok2), len(tok3))
	}
	text := all.String()
	for _, want := range []string{"> POST " + vars["PMX_BASE_URL"] + "/auth/v1beta1/login", "[REDACTED]", "< HTTP/1.1 200 OK"} {
		if !strings.Contains(text, want) {
			t.Fatalf("--debug traced no %q: the leak check would prove nothing", want)
		}
	}
	if len(secrets) < 7 {
		t.Fatalf("only %d secrets collected to look for", len(secrets))
	}
	for s, what := range secrets {
		if strings.Contains(text, s) || strings.Contains(tokenOut.String(), s) {
			t.Errorf("a %s appears in the output", what)
		}
	}
	for tok := range access {
		if strings.Contains(text, tok) {
			t.Errorf("an access token appears outside the stdout of `token`")
		}
		if sig := tok[strings.LastIndex(tok, ".")+1:]; strings.Contains(text, sig) {
			t.Errorf("an access token's signature appears outside the stdout of `token`")
		}
	}
}
