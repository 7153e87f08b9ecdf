package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// EnvOTPCommand names the environment variable holding the OTP command.
const EnvOTPCommand = "PMX_OTP_COMMAND"

// DefaultCommandTimeout bounds one run of the OTP command.
const DefaultCommandTimeout = 30 * time.Second

const (
	maxCommandStdout = 1 << 10 // a code is 6 or 8 digits; anything near this is not a code
	maxCommandStderr = 4 << 10
	stderrExcerptLen = 160
	// commandWaitDelay is how long to wait for the output pipes to close
	// after the shell has exited or been killed (a grandchild may hold them).
	commandWaitDelay = time.Second
)

// CommandSource runs a user's OTP command, such as a password manager's
// "print the current TOTP code", and reads the code from its standard output
// (as aws-vault's mfa_process). The command line is run by the shell, sh -c
// (cmd /C on Windows), so that quoting and pipes work as they do in the
// user's configuration. It runs with no standard input, the caller's
// environment, and a timeout; its output is trimmed and checked by
// [ValidateCode]. A short excerpt of its standard error goes into the error
// when it fails, with what looks like a code, a base32 secret or a token
// redacted; neither its standard output (which may hold the code) nor the
// command line (which may hold a secret: "TOTP_KEY=JBSW… oathtool …") ever
// appears in an error, a log or %v.
// It is safe for concurrent use; create it with [NewCommandSource].
type CommandSource struct {
	cmdline string
	timeout time.Duration
	digits  int
}

// CommandOption configures a [CommandSource].
type CommandOption func(*CommandSource) error

// WithTimeout bounds each run of the command; default
// [DefaultCommandTimeout]. On timeout the shell is killed.
func WithTimeout(d time.Duration) CommandOption {
	return func(c *CommandSource) error {
		if d <= 0 {
			return fmt.Errorf("mfa: WithTimeout: %s is not a timeout; want a positive duration", d)
		}
		c.timeout = d
		return nil
	}
}

// WithDigits sets the code length the command must print, 6 or 8; by default
// either is accepted.
func WithDigits(n int) CommandOption {
	return func(c *CommandSource) error {
		if n != 6 && n != 8 {
			return fmt.Errorf("mfa: WithDigits: %d; want 6 or 8", n)
		}
		c.digits = n
		return nil
	}
}

// NewCommandSource returns a CodeSource running cmdline, typically the value
// of [EnvOTPCommand].
func NewCommandSource(cmdline string, opts ...CommandOption) (*CommandSource, error) {
	if strings.TrimSpace(cmdline) == "" {
		return nil, fmt.Errorf("mfa: the OTP command is empty; set %s to a command that prints the current code", EnvOTPCommand)
	}
	c := &CommandSource{cmdline: cmdline, timeout: DefaultCommandTimeout}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Code runs the command and returns the code it printed.
func (c *CommandSource) Code(ctx context.Context) (traderapi.Secret, error) {
	if c == nil || c.cmdline == "" {
		return "", errors.New("mfa: a CommandSource must be created with NewCommandSource")
	}
	runCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := shellCommand(runCtx, c.cmdline)
	stdout := &cappedBuffer{max: maxCommandStdout}
	stderr := &cappedBuffer{max: maxCommandStderr}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, stdout, stderr
	cmd.WaitDelay = commandWaitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		// It exited successfully but left a background process (an agent)
		// holding its output; what it printed is complete.
		err = nil
	}
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("mfa: the OTP command: %w", ctx.Err())
	case runCtx.Err() != nil:
		return "", fmt.Errorf("mfa: the OTP command did not finish within %s and was stopped%s", c.timeout, stderrNote(stderr))
	case err != nil:
		return "", fmt.Errorf("mfa: the OTP command failed: %s%s", exitStatus(err), stderrNote(stderr))
	case stdout.over:
		return "", fmt.Errorf("mfa: the OTP command printed more than %d bytes; it should print only the code", maxCommandStdout)
	case len(bytes.TrimSpace(stdout.buf.Bytes())) == 0:
		return "", fmt.Errorf("mfa: the OTP command printed nothing; it should print the current code%s", stderrNote(stderr))
	}
	code, err := ValidateCode(stdout.buf.String(), c.digits)
	if err != nil {
		return "", fmt.Errorf("mfa: the output of the OTP command is not a code: %w", err)
	}
	return code, nil
}

// shellCommand runs cmdline through the platform's shell.
func shellCommand(ctx context.Context, cmdline string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		return exec.CommandContext(ctx, "cmd", "/C", cmdline)
	}
	return exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
}

// exitStatus describes how the command ended: "exit status 2", "signal:
// killed", or the error that kept it from starting.
func exitStatus(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return "its output stayed open after it exited"
	}
	return err.Error()
}

// digitRun matches what could be a code in standard error; base32Run what
// could be a base32 TOTP secret (16 or more of A-Z and 2-7, with padding).
var (
	digitRun  = regexp.MustCompile(`[0-9]{6,}`)
	base32Run = regexp.MustCompile(`(?i)\b[A-Z2-7]{16,}=*`)
)

// redactBase32 redacts a base32 run that is upper case or holds a digit:
// a secret, not a long lower-case word.
func redactBase32(s string) string {
	return base32Run.ReplaceAllStringFunc(s, func(m string) string {
		if strings.ToUpper(m) == m || strings.ContainsAny(m, "234567") {
			return "[REDACTED]"
		}
		return m
	})
}

// stderrNote is a short, redacted excerpt of standard error, or "".
func stderrNote(stderr *cappedBuffer) string {
	s := strings.Join(strings.Fields(stderr.buf.String()), " ")
	if s == "" {
		return ""
	}
	s = redactBase32(traderapi.RedactText(s))
	s = digitRun.ReplaceAllString(s, "[digits]")
	if r := []rune(s); len(r) > stderrExcerptLen {
		s = string(r[:stderrExcerptLen]) + "…"
	}
	return fmt.Sprintf(" (stderr: %q)", s)
}

// cappedBuffer keeps the first max bytes written and notes any more.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.over = true
		b.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String describes the source without the command line.
func (c CommandSource) String() string {
	return fmt.Sprintf("mfa.CommandSource{Command: [REDACTED], Timeout: %s}", c.timeout)
}

// GoString is [CommandSource.String], for %#v.
func (c CommandSource) GoString() string { return c.String() }

// Format implements [fmt.Formatter] so that no verb prints the arguments.
func (c CommandSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements [slog.LogValuer].
func (c CommandSource) LogValue() slog.Value {
	return slog.GroupValue(slog.String("command", "[REDACTED]"), slog.Duration("timeout", c.timeout))
}
