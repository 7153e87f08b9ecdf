package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/pmx-login/pmx-login/traderapi"
)

// maxLine caps a line read from stdin.
const maxLine = 64 << 10

// secretInput reads passwords: one per line from stdin with
// --password-stdin, else from the terminal without echo.
type secretInput struct {
	a          *app
	fromStdin  bool
	linesTaken int
}

// read returns one secret. what names it in errors ("password").
func (s *secretInput) read(ctx context.Context, prompt, what string) (traderapi.Secret, error) {
	if s.fromStdin {
		line, err := s.a.readLine(ctx)
		s.linesTaken++
		if err != nil {
			return "", fmt.Errorf("reading the %s from stdin (line %d): %w", what, s.linesTaken, err)
		}
		if line == "" {
			return "", fmt.Errorf("the %s on stdin (line %d) is empty", what, s.linesTaken)
		}
		return checkText(line, what)
	}
	if !s.a.io.InTTY {
		return "", fmt.Errorf("cannot ask for the %s: %w", what, errNoInput)
	}
	v, err := s.a.io.ReadSecret(ctx, prompt)
	if err != nil {
		return "", fmt.Errorf("reading the %s: %w", what, err)
	}
	v = strings.TrimRight(v, "\r\n")
	if v == "" {
		return "", fmt.Errorf("no %s given", what)
	}
	return checkText(v, what)
}

// checkText refuses a secret that is not valid UTF-8: sent in JSON it
// would be changed (each bad byte becomes U+FFFD) and no longer be what the
// user typed.
func checkText(v, what string) (traderapi.Secret, error) {
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("%w: the %s is not valid UTF-8 text (a terminal or file in another encoding?)", errBadPassword, what)
	}
	return traderapi.Secret(v), nil
}

// readNew reads a new password: once from stdin; on a terminal it is
// checked by policy (check_password) after the first entry, and asked for
// again, with the exchange's reason, until it passes; then it is repeated.
// With --password-stdin a refused password is the error policy returned.
func (s *secretInput) readNew(ctx context.Context, prompt, what string, policy func(context.Context, traderapi.Secret) error) (traderapi.Secret, error) {
	for {
		p, err := s.read(ctx, prompt, what)
		if err != nil {
			return "", err
		}
		if err := policy(ctx, p); err != nil {
			var ae *traderapi.APIError
			if s.fromStdin || !errors.As(err, &ae) || !rejection(ae.StatusCode) {
				return "", err
			}
			fmt.Fprintf(s.a.io.Err, "That %s was refused: %s. Choose another.\n", what, cmp.Or(ae.Message, "it does not meet the policy"))
			continue
		}
		if s.fromStdin {
			return p, nil
		}
		again, err := s.read(ctx, "Repeat "+strings.ToLower(prompt[:1])+prompt[1:], what)
		if err != nil {
			return "", err
		}
		if again == p {
			return p, nil
		}
		fmt.Fprintln(s.a.io.Err, "The two entries differ. Try again.")
	}
}

// readLine reads one line of stdin, without its line ending. The reader is
// shared by every read of the run, so lines are taken in order. On a
// terminal it gives up at once when ctx ends (Ctrl-C).
func (a *app) readLine(ctx context.Context) (string, error) {
	if a.stdin == nil {
		a.stdin = bufio.NewReaderSize(io.LimitReader(a.io.In, 1<<20), 4096)
	}
	if !a.io.InTTY {
		return readOneLine(a.stdin)
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		l, err := readOneLine(a.stdin)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.line, r.err
	case <-ctx.Done():
		fmt.Fprintln(a.io.Err)
		return "", ctx.Err()
	}
}

func readOneLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := r.ReadLine()
		b.Write(chunk)
		if b.Len() > maxLine {
			return "", errors.New("line too long")
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("no more input (end of stdin)")
			}
			return "", err
		}
		if !isPrefix {
			return strings.TrimRight(b.String(), "\r"), nil
		}
	}
}

// username returns --username, or asks for it on a terminal.
func (a *app) username(ctx context.Context) (string, error) {
	if a.g.username != "" {
		return a.g.username, nil
	}
	if !a.io.InTTY {
		return "", errNoUser
	}
	fmt.Fprint(a.io.Err, "Username: ")
	u, err := a.readLine(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the username: %w", err)
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", errNoUser
	}
	a.g.username = u
	return u, nil
}

// confirm asks a yes/no question on the terminal; Enter means yes.
func (a *app) confirm(ctx context.Context, question string) (bool, error) {
	fmt.Fprintf(a.io.Err, "%s [Y/n] ", question)
	l, err := a.readLine(ctx)
	if err != nil {
		return false, err
	}
	l = strings.ToLower(strings.TrimSpace(l))
	return l == "" || l == "y" || l == "yes", nil
}
