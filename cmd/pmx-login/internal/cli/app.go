package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/pmx-login/pmx-login/internal/highwater"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
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
	// redis is the store when --keystore redis is open (st may wrap it).
	redis *redis.Store
	// closers run when the command ends ([app.close]).
	closers []func() error
	// envWarned: the warning about a custom --env was printed.
	envWarned bool
	// events observes the ISV source an agent builds (nil: none).
	events session.Observer
}

// environment returns the environment --env names with --base-url and
// --host applied, by [settings.Settings.Environment]: an unknown --env is
// accepted only with a --base-url (a custom environment, with sessions of
// its own, and a warning).
func (a *app) environment() (traderapi.Environment, error) {
	env, err := a.g.settings(a.io.Getenv).Environment()
	if errors.Is(err, settings.ErrUnknownEnvironment) {
		return env, usageErrorf(a.cmd, "unknown --env %q: use dev01, preprod or prod, or give --base-url (and --host) for another environment", a.g.env)
	}
	if err != nil {
		return env, err
	}
	if _, known := traderapi.LookupEnvironment(env.Name); known != nil && !a.envWarned {
		a.envWarned = true
		fmt.Fprintf(a.io.Err, "warning: --env %q is not dev01, preprod or prod: it names a custom environment at --base-url, with sessions of its own\n", env.Name)
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

// store opens the keystore --keystore names ([settings.Settings.Store]),
// once per run; [app.close] closes it.
func (a *app) store() (keystore.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	if a.g.keystore == settings.KeystoreRedis {
		if err := a.g.checkRedis(); err != nil {
			return nil, err
		}
	}
	st, err := a.g.settings(a.io.Getenv).Store()
	if err != nil {
		if a.g.keystore == settings.KeystoreRedis {
			return nil, &redisKeyFileError{err: err}
		}
		return nil, err
	}
	if r, ok := st.(*redis.Store); ok {
		a.redis = r
		a.closers = append(a.closers, r.Close)
		if a.g.debug && a.io.process { // go-redis's own lines, as debug lines beside the trace
			setRedisLogger(slog.New(slog.NewTextHandler(a.io.Err, &slog.HandlerOptions{Level: slog.LevelDebug})))
		}
	}
	a.st = st
	if a.io.wrapStore != nil {
		a.st = a.io.wrapStore(a.st)
	}
	if a.st.Backend() == settings.KeystoreKeyring {
		a.st = keychainDeadline{a.st}
	}
	return a.st, nil
}

// close releases what the run opened (the Redis connections).
func (a *app) close() {
	for _, c := range a.closers {
		_ = c()
	}
}

// backendName describes the keystore for status output.
func (a *app) backendName() string {
	if f, ok := a.st.(*file.Store); ok {
		return "file (" + f.Dir() + ")"
	}
	if a.st != nil && a.st.Backend() == settings.KeystoreFile {
		return "file"
	}
	if u, err := redis.ParseURL(a.g.redisURL); err == nil && a.g.keystore == settings.KeystoreRedis {
		return "redis (" + u.String() + ")"
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
		Generations: a.managerGenerations(),
	})
	if err != nil {
		return nil, nil, err
	}
	return m, c, nil
}

// resumed returns a manager with the stored session of --username (or the
// last user) resumed; the caller closes it.
func (a *app) resumed(ctx context.Context) (*session.Manager, error) {
	m, _, err := a.manager()
	if err != nil {
		return nil, err
	}
	if err := m.Resume(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// generations is this machine's record of the highest generation seen of
// each session and of the exchange's clock offset, in the file keystore's
// directory (whatever the keystore), so that a record written back from an
// old copy is refused (nil: none kept, with --keystore memory, which
// writes no file).
func (a *app) generations() *highwater.File {
	if a.g.keystore == settings.KeystoreMemory {
		return nil
	}
	dir, err := a.g.settings(a.io.Getenv).FileDir()
	if err != nil {
		return nil
	}
	return highwater.New(filepath.Join(dir, ".generations")) // not an environment name
}

// managerGenerations is generations for Config.Generations (nil: the
// manager's default).
func (a *app) managerGenerations() session.Generations {
	if g := a.generations(); g != nil {
		return g
	}
	return nil
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
