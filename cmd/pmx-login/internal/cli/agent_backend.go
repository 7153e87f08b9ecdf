package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent/ops"
	"github.com/pmx-login/pmx-login/session"
)

// logger is the agent's logger on stderr: text, or JSON with
// --log-format json; debug lines with --debug.
func (o *agentOptions) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if o.g.debug {
		opts.Level = slog.LevelDebug
	}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(o.io.Err, opts))
	}
	return slog.New(slog.NewTextHandler(o.io.Err, opts))
}

// redisLogger puts go-redis's own lines (reconnects, pool errors) through
// the agent's logger. They name addresses, never the password or a key.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// QuietRedisLogs drops go-redis's own log lines (reconnects, pool
// errors), which it writes to stderr by default, so that a command speaks
// with one voice: its error already names what failed, and the agent
// routes them through its logger. go-redis's logger is process-wide: only
// main calls this.
func QuietRedisLogs() { redis.SetLogger(redisLogger{slog.New(slog.DiscardHandler)}) }

// setRedisLogger sets go-redis's logger, which is process-wide: only the
// agent command, a process of its own, sets it.
func setRedisLogger(l *slog.Logger) {
	if l != nil {
		redis.SetLogger(redisLogger{l})
	}
}

// openBackend opens the store, the manager and (with --client-id) the ISV
// source, reading the key files: at start and on SIGHUP.
func (o *agentOptions) openBackend(logger *slog.Logger) (*agent.Backend, error) {
	debug := o.g.debug
	o.g.debug = false // --debug means debug log lines here, not an HTTP trace outside the log
	defer func() { o.g.debug = debug }()
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	o.st = nil // a new store each time: the key file is read again
	st, err := o.store()
	if err != nil {
		return nil, err
	}
	b := &agent.Backend{Store: st}
	if r := o.redis; r != nil {
		b.Release = r.Close
	}
	b.Manager, err = session.New(session.Config{Environment: c.Environment().Name, Client: c, Store: st,
		Username: o.g.username, Now: o.io.Now, Logger: logger, Events: o.ops.events})
	if err != nil {
		o.releaseStore(b)
		return nil, err
	}
	if o.isv.clientID != "" || o.io.Getenv(envClientID) != "" {
		o.events = o.ops.events // the ISV source's events feed the same metrics
		t, err := o.newISVTarget(o.isv)
		if err != nil {
			_ = b.Manager.Close()
			o.releaseStore(b)
			return nil, err
		}
		b.ISV = t.src
	}
	return b, nil
}

func (o *agentOptions) releaseStore(b *agent.Backend) {
	if b.Release != nil {
		_ = b.Release()
	}
}

// proxyHandler is the --proxy handler over the environment's base URL.
func (o *agentOptions) proxyHandler(ag *agent.Agent) (http.Handler, error) {
	env, err := o.environment()
	if err != nil {
		return nil, err
	}
	o.isv.fill(o.io.Getenv)
	return ag.ProxyHandler(agent.ProxyConfig{BaseURL: env.BaseURL, Host: env.Host, ParticipantID: o.isv.participantID,
		Observe: o.ops.proxied})
}

// opsSurface is what the operations package gives the agent: the
// observer of the session's events, the --metrics handler and the proxy's
// request counter.
type opsSurface struct {
	events  session.Observer
	handler http.Handler
	proxied func(route string, status int, d time.Duration)
}

// newOps builds the operations surface over the agent's readiness: the
// Prometheus metrics fed by the session's (and the ISV source's) events,
// the --metrics handler (/metrics, /healthz, /readyz) and the proxy's
// request counter.
func newOps(ready func() error, now func() time.Time) (opsSurface, error) {
	m, err := ops.NewMetrics(ops.Config{Ready: ready, Now: now})
	if err != nil {
		return opsSurface{}, err
	}
	return opsSurface{events: m, handler: ops.NewHandler(m),
		proxied: func(_ string, code int, _ time.Duration) { m.ProxyRequest(code) }}, nil
}
