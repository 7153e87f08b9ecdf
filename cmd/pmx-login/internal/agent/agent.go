package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/isv"
)

// DefaultPoll is how often the agent looks at the store for a login while it
// holds no session, and for a logout or newer login on a store that cannot
// be watched (the file store, the OS keychain).
const DefaultPoll = time.Second

// ErrNoISV: the agent was started without ISV credentials.
var ErrNoISV = errors.New("the agent has no ISV credentials (start it with --client-id and --key)")

// Backend is what an agent serves from: one session manager over its store
// and, with ISV credentials, a token source. [Config.Open] builds one at
// start and again on [Agent.Reload].
type Backend struct {
	// Manager owns the trader's session. It has no session yet: the agent
	// resumes it.
	Manager *session.Manager
	// Store is the manager's store, read to notice logins and logouts.
	Store keystore.Store
	// ISV is the partner's token source; nil without ISV credentials.
	ISV *isv.Source
	// Release, when set, frees what Open opened besides the manager and the
	// source (the Redis connections); it runs after both are closed.
	Release func() error
}

// close closes the manager, the source and what Release frees.
func (b *Backend) close() error {
	_ = b.Manager.Close()
	if b.ISV != nil {
		_ = b.ISV.Close()
	}
	if b.Release != nil {
		return b.Release()
	}
	return nil
}

// Config configures an Agent. Open is required.
type Config struct {
	// Open builds a backend: at start and on each [Agent.Reload] (SIGHUP,
	// to re-read key files).
	Open func() (*Backend, error)
	// Logger receives the agent's events (never a token); default discards.
	Logger *slog.Logger
	// Poll is how often the store is looked at (default [DefaultPoll]).
	Poll time.Duration
}

// Agent serves one session (and an ISV token) to local programs. It is safe
// for concurrent use. Create it with New and run it with [Agent.Run].
type Agent struct {
	cfg     Config
	backend atomic.Pointer[Backend]
	// ended is a logout or ended session seen in a store that cannot be
	// watched, newer than what the manager holds (nil: none).
	ended atomic.Pointer[endedState]
	// waiting is why the last look for a stored session found none.
	waiting atomic.Pointer[error]
	// mu serializes Run's start, Reload and Close.
	mu      sync.Mutex
	runCtx  context.Context // nil until Run; only read under mu
	stopRun context.CancelFunc
	done    chan struct{}
	closed  bool
}

type endedState struct {
	gen uint64
	err error
}

// New opens the first backend. It sends nothing and reads no store.
func New(cfg Config) (*Agent, error) {
	if cfg.Open == nil {
		return nil, errors.New("agent: Config.Open is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	b, err := cfg.Open()
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, done: make(chan struct{})}
	a.backend.Store(b)
	notYet := fmt.Errorf("the agent has not looked for a session yet: %w", session.ErrNotLoggedIn)
	a.waiting.Store(&notYet)
	return a, nil
}

// current returns the backend in use.
func (a *Agent) current() *Backend { return a.backend.Load() }

// Run resumes the stored session, keeps it fresh and follows the store
// until ctx ends; then it closes the backend. It never logs out. Run is
// called once.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.closed || a.runCtx != nil {
		a.mu.Unlock()
		return errors.New("agent: Run called twice or after Close")
	}
	a.runCtx, a.stopRun = context.WithCancel(ctx)
	b := a.current()
	a.mu.Unlock()
	defer close(a.done)
	a.begin(a.runCtx, b)
	a.watch(a.runCtx)
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return a.current().close()
}

// Close stops Run (it returns once the backend is closed). Safe to call
// more than once, and before Run.
func (a *Agent) Close() error {
	a.mu.Lock()
	started := a.runCtx != nil
	if started {
		a.stopRun()
	} else if !a.closed {
		a.closed = true
		a.mu.Unlock()
		return a.current().close()
	}
	a.mu.Unlock()
	if started {
		<-a.done
	}
	return nil
}

// begin resumes b's session and starts its refresher under ctx.
func (a *Agent) begin(ctx context.Context, b *Backend) {
	a.resume(ctx, b)
	if err := b.Manager.Start(ctx); err != nil {
		a.cfg.Logger.Warn("could not start the background refresher", "error", err)
	}
}

// Reload opens a new backend (re-reading the key files), resumes its
// session and puts it in place of the current one, which is closed. On
// error the current backend stays.
func (a *Agent) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.runCtx == nil {
		return errors.New("agent: Reload needs a running agent")
	}
	b, err := a.cfg.Open()
	if err != nil {
		return err
	}
	a.ended.Store(nil)
	a.begin(a.runCtx, b)
	old := a.backend.Swap(b)
	a.cfg.Logger.Info("reloaded: key files re-read, session resumed", "ready", errString(a.Ready()))
	return old.close()
}

func errString(err error) string {
	if err == nil {
		return "yes"
	}
	return err.Error()
}
