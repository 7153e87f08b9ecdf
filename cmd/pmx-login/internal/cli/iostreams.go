package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/pmx-login/pmx-login/keystore"
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
	// ReadSecret prints prompt (to Err) and reads a line without echo. It
	// returns ctx's error at once when ctx ends (Ctrl-C), with the
	// terminal's echo restored.
	ReadSecret func(ctx context.Context, prompt string) (string, error)
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Now is the clock.
	Now func() time.Time
	// Sleep waits for d or until ctx ends (waiting for the next one-time
	// code window); tests pass one that moves their clock on.
	Sleep func(ctx context.Context, d time.Duration) error

	// wrapStore, set by tests, wraps the keystore a run opens (to inject
	// a keystore fault around a real backend).
	wrapStore func(keystore.Store) keystore.Store
	// process is set by System: the run is the process, so it may set
	// process-wide things (go-redis's logger, for --debug).
	process bool
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
		ReadSecret: func(ctx context.Context, prompt string) (string, error) {
			return readPassword(ctx, inFD, os.Stderr, prompt)
		},
		Getenv: os.Getenv,
		Now:    time.Now,
		Sleep:  sleepContext,

		process: true,
	}
}

// readPassword reads a line from the terminal fd without echo. The read
// blocks in the kernel and cannot be cancelled, so it runs on its own
// goroutine: when ctx ends first, the terminal's state is restored (echo
// on) and ctx's error returned; the process is about to exit.
func readPassword(ctx context.Context, fd int, w io.Writer, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	saved, _ := term.GetState(fd)
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(w)
		return string(r.b), r.err
	case <-ctx.Done():
		if saved != nil {
			_ = term.Restore(fd, saved)
		}
		fmt.Fprintln(w)
		return "", ctx.Err()
	}
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
	if s.Sleep == nil {
		s.Sleep = sleepContext
	}
	if s.ReadSecret == nil {
		s.ReadSecret = func(context.Context, string) (string, error) { return "", errors.New("no terminal to read from") }
	}
	return s
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
