package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// app is what one run of a command works with: the streams, the global
// options and what is built from them.
type app struct {
	io    IOStreams
	g     globals
	cmd   string // the command's name, for hints
	stdin *bufio.Reader
	st    keystore.Store
	// envWarned: the warning about a custom --env was printed.
	envWarned bool
}

// environment returns the environment --env names with --base-url and
// --host applied. An unknown --env is accepted only with a --base-url: it
// names a custom environment, and sessions are kept under that name.
func (a *app) environment() (traderapi.Environment, error) {
	name := strings.ToLower(strings.TrimSpace(a.g.env))
	env, err := traderapi.LookupEnvironment(name)
	if err != nil {
		if a.g.baseURL == "" {
			return env, usageErrorf(a.cmd, "unknown --env %q: use dev01, preprod or prod, or give --base-url (and --host) for another environment", a.g.env)
		}
		if !a.envWarned {
			a.envWarned = true
			fmt.Fprintf(a.io.Err, "warning: --env %q is not dev01, preprod or prod: it names a custom environment at --base-url, with sessions of its own\n", name)
		}
		env = traderapi.Environment{Name: name}
	}
	if a.g.baseURL != "" {
		env.BaseURL = a.g.baseURL
	}
	if a.g.host != "" {
		env.Host = a.g.host
	}
	return env, nil
}

// client returns a traderapi client for the environment, tracing to stderr
// with --debug.
func (a *app) client() (*traderapi.Client, error) {
	env, err := a.environment()
	if err != nil {
		return nil, err
	}
	opts := []traderapi.Option{traderapi.WithClock(a.io.Now)} // the session's clock too: one clock
	if a.g.debug {
		opts = append(opts, traderapi.WithDebug(a.io.Err))
	}
	c, err := traderapi.NewClient(env, opts...)
	if err != nil {
		return nil, usageErrorf(a.cmd, "%v", err)
	}
	return c, nil
}

// store opens the keystore --keystore names, once per run.
func (a *app) store() (keystore.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	switch a.g.keystore {
	case keystore.BackendFile:
		dir, err := a.fileDir()
		if err != nil {
			return nil, err
		}
		f, err := keystore.NewFile(dir)
		if err != nil {
			return nil, err
		}
		a.st = f
	case keystore.BackendMemory:
		a.st = keystore.NewMemory()
	default:
		a.st = keystore.NewKeyring()
	}
	if a.io.wrapStore != nil {
		a.st = a.io.wrapStore(a.st)
	}
	if a.st.Backend() == keystore.BackendKeyring {
		a.st = keychainDeadline{a.st}
	}
	return a.st, nil
}

// fileDir is where the file keystore lives: $XDG_CONFIG_HOME/pmx-login where
// os.UserConfigDir honours XDG_CONFIG_HOME (read through the injected
// Getenv, so tests need not touch the process environment), else
// [keystore.DefaultDir].
func (a *app) fileDir() (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
	default:
		if x := a.io.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
			return filepath.Join(x, "pmx-login"), nil
		}
	}
	return keystore.DefaultDir()
}

// backendName describes the keystore for status output.
func (a *app) backendName() string {
	if f, ok := a.st.(*keystore.File); ok {
		return "file (" + f.Dir() + ")"
	}
	if a.st != nil && a.st.Backend() == keystore.BackendFile {
		return "file"
	}
	return a.g.keystore
}

// manager returns a session manager for the environment and --username.
// The caller closes it.
func (a *app) manager() (*session.Manager, *traderapi.Client, error) {
	c, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	st, err := a.store()
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if a.g.debug {
		logger = slog.New(slog.NewTextHandler(a.io.Err, nil))
	}
	m, err := session.New(session.Config{
		Environment: c.Environment().Name,
		Client:      c,
		Store:       st,
		Username:    a.g.username,
		Now:         a.io.Now,
		Logger:      logger,
	})
	if err != nil {
		return nil, nil, err
	}
	return m, c, nil
}

// currentUser returns --username, else the environment's last user.
func (a *app) currentUser(ctx context.Context) (string, error) {
	if a.g.username != "" {
		return a.g.username, nil
	}
	env, err := a.environment()
	if err != nil {
		return "", err
	}
	st, err := a.store()
	if err != nil {
		return "", err
	}
	u, err := st.LastUser(ctx, env.Name)
	if err != nil {
		if isNotFound(err) {
			return "", errNoUser
		}
		return "", err
	}
	return u, nil
}
