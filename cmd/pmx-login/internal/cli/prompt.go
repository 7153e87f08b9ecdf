package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

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
func (s *secretInput) read(prompt, what string) (traderapi.Secret, error) {
	if s.fromStdin {
		line, err := s.a.readLine()
		s.linesTaken++
		if err != nil {
			return "", fmt.Errorf("reading the %s from stdin (line %d): %w", what, s.linesTaken, err)
		}
		if line == "" {
			return "", fmt.Errorf("the %s on stdin (line %d) is empty", what, s.linesTaken)
		}
		return traderapi.Secret(line), nil
	}
	if !s.a.io.InTTY {
		return "", fmt.Errorf("cannot ask for the %s: %w", what, errNoInput)
	}
	v, err := s.a.io.ReadSecret(prompt)
	if err != nil {
		return "", fmt.Errorf("reading the %s: %w", what, err)
	}
	v = strings.TrimRight(v, "\r\n")
	if v == "" {
		return "", fmt.Errorf("no %s given", what)
	}
	return traderapi.Secret(v), nil
}

// readNew reads a new password: twice on a terminal, once from stdin.
func (s *secretInput) readNew(prompt, what string) (traderapi.Secret, error) {
	p, err := s.read(prompt, what)
	if err != nil || s.fromStdin {
		return p, err
	}
	again, err := s.read("Repeat "+strings.ToLower(prompt[:1])+prompt[1:], what)
	if err != nil {
		return "", err
	}
	if again != p {
		return "", errPasswordMismatch
	}
	return p, nil
}

// readLine reads one line of stdin, without its line ending. The reader is
// shared by every read of the run, so lines are taken in order.
func (a *app) readLine() (string, error) {
	if a.stdin == nil {
		a.stdin = bufio.NewReaderSize(io.LimitReader(a.io.In, 1<<20), 4096)
	}
	var b strings.Builder
	for {
		chunk, isPrefix, err := a.stdin.ReadLine()
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
func (a *app) username() (string, error) {
	if a.g.username != "" {
		return a.g.username, nil
	}
	if !a.io.InTTY {
		return "", errNoUser
	}
	fmt.Fprint(a.io.Err, "Username: ")
	u, err := a.readLine()
	if err != nil {
		return "", fmt.Errorf("reading the username: %w", err)
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", errNoUser
	}
	a.g.username = u
	return u, nil
}
