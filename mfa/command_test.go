package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

func newCommand(t *testing.T, cmdline string, opts ...CommandOption) *CommandSource {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test commands are POSIX shell")
	}
	c, err := NewCommandSource(cmdline, opts...)
	if err != nil {
		t.Fatalf("NewCommandSource(%q): %v", cmdline, err)
	}
	return c
}

func TestCommandSourceCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmdline string
		opts    []CommandOption
		want    string
	}{
		{"printf 123456", nil, "123456"},
		{`printf ' 123 456\n'`, nil, "123456"},
		{"echo 12345678", []CommandOption{WithDigits(8)}, "12345678"},
		{"echo 000111 | tr 1 2", nil, "000222"},
		{"cat; echo 424242", nil, "424242"},         // standard input is empty, not the terminal
		{"(sleep 3 &); echo 135790", nil, "135790"}, // an agent left running with our stdout
	}
	for _, tt := range tests {
		got, err := newCommand(t, tt.cmdline, tt.opts...).Code(t.Context())
		if err != nil || got.Reveal() != tt.want {
			t.Errorf("%q: Code = %q, %v; want %q", tt.cmdline, got.Reveal(), err, tt.want)
		}
	}
}

func TestCommandSourceFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmdline string
		opts    []CommandOption
		wantErr []string
		never   []string
	}{
		{"false", nil, []string{`the OTP command failed: exit status 1`}, []string{"false"}},
		// Issue 12 item 15: neither the command line nor a base32 secret
		// in its stderr is printed.
		{`TOTP_KEY=JBSWY3DPEHPK3PXP sh -c 'echo "oathtool: bad key $TOTP_KEY jbswy3dpehpk3pxp" >&2; exit 1'`, nil,
			[]string{"exit status 1", "bad key [REDACTED] [REDACTED]"}, []string{"JBSWY3DPEHPK3PXP", "jbswy3dpehpk3pxp", "TOTP_KEY"}},
		{"echo 'not signed in' >&2; exit 3", nil, []string{"exit status 3", `(stderr: "not signed in")`}, nil},
		{"echo 654321; echo oops >&2; exit 2", nil, []string{"exit status 2", "oops"}, []string{"654321"}},
		{"echo 'your code 987654 expired' >&2; exit 1", nil, []string{"your code [digits] expired"}, []string{"987654"}},
		{"no-such-command-for-pmx-login --token=tok3n", nil, []string{"exit status 127", "not found"}, []string{"tok3n"}},
		{"true", nil, []string{"printed nothing; it should print the current code"}, nil},
		{"echo hunter2password", nil, []string{"is not a code", "digits only, but it contains a letter"}, []string{"hunter2"}},
		{"echo 123456", []CommandOption{WithDigits(8)}, []string{"the code has 6 digits; your authenticator shows 8"}, []string{"123456"}},
		{"head -c 2000 /dev/zero | tr '\\0' 7", nil, []string{"printed more than 1024 bytes"}, []string{"7777777"}},
		{"echo " + strings.Repeat("x", 5000) + " >&2; exit 1", nil, []string{"exit status 1", "…"}, []string{strings.Repeat("x", 200)}},
	}
	for _, tt := range tests {
		got, err := newCommand(t, tt.cmdline, tt.opts...).Code(t.Context())
		if err == nil {
			t.Errorf("%.60q: Code = %q; want an error", tt.cmdline, got.Reveal())
			continue
		}
		for _, want := range tt.wantErr {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%.60q: error = %q; want it to contain %q", tt.cmdline, err, want)
			}
		}
		for _, never := range tt.never {
			if strings.Contains(err.Error(), never) {
				t.Errorf("%.60q: error = %q contains %q", tt.cmdline, err, never)
			}
		}
	}
}

func TestCommandSourceTimeout(t *testing.T) {
	t.Parallel()
	for _, cmdline := range []string{
		"sleep 5",
		"sleep 5; echo 123456",     // the shell forks: killing it leaves sleep holding stdout
		"sleep 5 & wait; echo 123", // a background grandchild
	} {
		t.Run(cmdline, func(t *testing.T) {
			t.Parallel()
			c := newCommand(t, cmdline, WithTimeout(200*time.Millisecond))
			start := time.Now()
			_, err := c.Code(t.Context())
			elapsed := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms and was stopped") {
				t.Errorf("error = %v; want a timeout", err)
			}
			if elapsed > 3*time.Second {
				t.Errorf("returned after %s; want about 200ms plus the 1s output grace", elapsed)
			}
		})
	}
	t.Run("caller's deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := newCommand(t, "sleep 5").Code(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestNewCommandSourceRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cmdline string
		opts    []CommandOption
		wantErr string
	}{
		{"", nil, "set PMX_OTP_COMMAND to a command that prints the current code"},
		{" \t", nil, "the OTP command is empty"},
		{"true", []CommandOption{WithTimeout(0)}, "want a positive duration"},
		{"true", []CommandOption{WithDigits(7)}, "WithDigits: 7; want 6 or 8"},
	} {
		if _, err := NewCommandSource(tt.cmdline, tt.opts...); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewCommandSource(%q) error = %v; want %q", tt.cmdline, err, tt.wantErr)
		}
	}
	var zero CommandSource
	if _, err := zero.Code(t.Context()); err == nil {
		t.Error("the zero CommandSource ran")
	}
}

func TestCommandSourcePrintsWithoutArguments(t *testing.T) {
	t.Parallel()
	c, err := NewCommandSource("op item get pmx --otp --session=s3ssion-t0ken")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("otp", "source", c)
	outs := []string{logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c))
	}
	for _, s := range outs {
		if strings.Contains(s, "s3ssion") || strings.Contains(s, `"op"`) {
			t.Errorf("%q shows the command line", s)
		}
	}
	if want := `mfa.CommandSource{Command: [REDACTED], Timeout: 30s}`; outs[1] != want {
		t.Errorf("%%v = %q; want %q", outs[1], want)
	}
	var _ CodeSource = c
	var _ CodeSource = (*Generator)(nil)
}
