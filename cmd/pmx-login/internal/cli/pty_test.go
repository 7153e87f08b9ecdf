//go:build linux

package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyRun is the pmx-login binary running on a real pseudo-terminal.
type ptyRun struct {
	t     *testing.T
	ptmx  *os.File // the terminal's master side: what the user types and sees
	tty   *os.File // its slave side, kept open to read its state afterwards
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
	exitc int
}

// startPTY runs the binary with args on a new pseudo-terminal as its
// controlling terminal, with the fixture's environment.
func (f *fixture) startPTY(t *testing.T, args ...string) *ptyRun {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		skipTool(t, "no pseudo-terminal ("+err.Error()+")", "run go test on Linux with /dev/ptmx (a container may need --privileged or devpts)")
	}
	cmd := exec.Command(pmxBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "TERM=dumb"}
	for k, v := range f.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &ptyRun{t: t, ptmx: ptmx, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.exitc = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		ptmx.Close()
		tty.Close()
	})
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the terminal shows s (generously: a loaded machine).
func (p *ptyRun) waitFor(s string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.output(), s) {
		if time.Now().After(deadline) {
			p.t.Fatalf("the terminal never showed %q:\n%s", s, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *ptyRun) typeText(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.ptmx, s); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the exit and returns its code; a command that does not
// exit within the bound fails the test (Ctrl-C ignored until Enter).
func (p *ptyRun) wait(bound time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitc
	case <-time.After(bound):
		p.t.Fatalf("still running %s after the input:\n%s", bound, p.output())
		return -1
	}
}

// echoOn reports whether the terminal echoes input.
func (p *ptyRun) echoOn() bool {
	p.t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// Issue 12 item 1: Ctrl-C at the password prompt (no echo) and at the
// username prompt ends the command at once with exit 130, echo restored.
func TestPTYCtrlCAtPrompts(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	for _, tc := range []struct {
		args   []string
		prompt string
	}{
		{[]string{"login", "--username", testUser}, "Password for trader1: "},
		{[]string{"login"}, "Username: "},
		{[]string{"register"}, "Registration token: "},
	} {
		p := f.startPTY(t, tc.args...)
		p.waitFor(tc.prompt)
		p.typeText("part-of-a-pass") // typed, not ended
		time.Sleep(100 * time.Millisecond)
		p.typeText("\x03") // Ctrl-C: the line discipline sends SIGINT
		if code := p.wait(20 * time.Second); code != exitInterrupted {
			t.Errorf("%v: exit %d after Ctrl-C, want %d:\n%s", tc.args, code, exitInterrupted, p.output())
		}
		if !p.echoOn() {
			t.Errorf("%v: the terminal's echo is off after Ctrl-C", tc.args)
		}
		if n := f.srv.Calls("/auth/v1beta1/login"); n != 0 {
			t.Errorf("%v: the exchange was called %d times", tc.args, n)
		}
	}
}

// Issue 12 item 4: on a terminal, register checks the password against the
// policy after the first entry, explains the exchange's rule and asks again.
func TestPTYRegisterPasswordPolicy(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := writeFile(t, "reg.jwt", f.srv.RegistrationToken(testUser))
	p := f.startPTY(t, "register", "--token-file", tok)
	p.waitFor("Password: ")
	p.typeText("abc\r")
	p.waitFor("That password was refused")
	p.waitFor("Choose another.")
	p.typeText(testPassword + "\r")
	p.waitFor("Repeat password: ")
	p.typeText(testPassword + "\r")
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.output())
	}
	p.waitFor("Registered trader1")
	out := p.output()
	if !strings.Contains(out, "Registered trader1") || strings.Contains(out, testPassword) || strings.Contains(out, "abc\r") {
		t.Errorf("terminal:\n%s", out)
	}
	if n := f.srv.Calls("/auth/v1beta1/register"); n != 1 {
		t.Errorf("register called %d times, want 1", n)
	}
}

// Issue 12 item 3: on a terminal, a code whose window was used is named as
// such before anything else and the user is offered to wait for the next.
func TestPTYOTPAlreadyUsedOffersWait(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	if _, err := f.srv.EnableMFA(testUser); err != nil {
		t.Fatal(err)
	}
	if left := otpPeriod - time.Now().Unix()%otpPeriod; left < 8 {
		time.Sleep(time.Duration(left+1) * time.Second) // not across a window's end
	}
	code, err := f.srv.OTP(testUser)
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin", "--otp", code)
	p := f.startPTY(t, "login", "--username", testUser, "--otp", code)
	p.waitFor("Password for trader1: ")
	p.typeText(testPassword + "\r")
	p.waitFor("already used; the next code comes in")
	p.waitFor("Wait for it? [Y/n] ")
	p.typeText("n\r")
	if c := p.wait(30 * time.Second); c != exitRejected {
		t.Errorf("exit %d, want %d:\n%s", c, exitRejected, p.output())
	}
}
