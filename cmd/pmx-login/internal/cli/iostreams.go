package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// IOStreams is all the terminal IO of a command: tests build it over
// buffers, [System] over the process's own streams. Commands never touch
// os.Stdin or os.Stdout.
type IOStreams struct {
	In       io.Reader
	Out, Err io.Writer
	// InTTY and OutTTY say whether stdin and stdout are terminals: a
	// password or code is asked for only when InTTY is set.
	InTTY, OutTTY bool
	// ReadSecret prints prompt (to Err) and reads a line without echo.
	ReadSecret func(prompt string) (string, error)
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Now is the clock.
	Now func() time.Time
}

// System returns the streams of the running process: os.Stdin, os.Stdout and
// os.Stderr, terminal detection and no-echo input through golang.org/x/term.
func System() IOStreams {
	inFD := int(os.Stdin.Fd())
	return IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		Err:    os.Stderr,
		InTTY:  term.IsTerminal(inFD),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ReadSecret: func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(inFD)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		},
		Getenv: os.Getenv,
		Now:    time.Now,
	}
}

// withDefaults fills what a test left out.
func (s IOStreams) withDefaults() IOStreams {
	if s.In == nil {
		s.In = eofReader{}
	}
	if s.Out == nil {
		s.Out = io.Discard
	}
	if s.Err == nil {
		s.Err = io.Discard
	}
	if s.Getenv == nil {
		s.Getenv = func(string) string { return "" }
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.ReadSecret == nil {
		s.ReadSecret = func(string) (string, error) { return "", errors.New("no terminal to read from") }
	}
	return s
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
