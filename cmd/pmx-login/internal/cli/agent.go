package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/traderapi"
)

// agentOptions are the flags of `pmx-login agent`.
type agentOptions struct {
	*app
	socket, sink, sinkFormat string
	proxy, metrics           string
	allowRemote              bool
	logFormat                string
	poll, grace              time.Duration
	isv                      isvFlags
	ops                      opsSurface // built before the backend: its observer is the manager's
}

func agentCommand() command {
	return command{
		name:    "agent",
		args:    "[--socket PATH] [--sink FILE] [--proxy ADDR] [--metrics ADDR] [--client-id ID --key FILE]",
		summary: "Own the session for every program on this machine: token socket, file sink, API proxy",
		long: `Runs until SIGTERM or SIGINT (never logging out), on any keystore. It never
prompts: with no session stored it waits, not ready, and takes up a later
` + "`pmx-login login`" + `. It keeps the token fresh, follows logouts and newer logins, and
serves the token it holds while Redis is down. SIGHUP re-reads the key files
(--redis-key-file, --key) and resumes the session from the store.
Surfaces: the token socket (GET /v1/token, /v1/isv/token, /v1/status over HTTP;
token, isv token and status ask it first), --sink, --proxy and --metrics.
Logs go to stderr: text, or JSON with --log-format json.`,
		example: `pmx-login agent --keystore file &
curl -s --unix-socket "$XDG_RUNTIME_DIR/pmx-login/preprod.sock" http://agent/v1/token
pmx-login agent --proxy 127.0.0.1:8181 --sink ~/.pmx/token --sink-format json --log-format json`,
		noTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &agentOptions{app: a}
			o.bind(fs)
			return func(ctx context.Context) error { return runAgent(ctx, o) }
		},
	}
}

func (o *agentOptions) bind(fs *pflag.FlagSet) {
	fs.StringVar(&o.socket, "socket", "", "token socket `PATH`; default $XDG_RUNTIME_DIR/pmx-login/ENV.sock ("+agent.EnvSocket+")")
	fs.StringVar(&o.sink, "sink", "", "write the current access token to `FILE` (atomically, 0600; removed while there is no valid token)")
	fs.StringVar(&o.sinkFormat, "sink-format", agent.SinkToken, "sink content: token (the raw token) or json ({token, expiry})")
	fs.StringVar(&o.proxy, "proxy", "", "serve an API proxy that adds the token on `ADDR` (loopback, e.g. 127.0.0.1:8181)")
	fs.StringVar(&o.metrics, "metrics", "", "serve /metrics, /healthz and /readyz on `ADDR` (loopback, e.g. 127.0.0.1:9464)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "let --proxy and --metrics listen on a non-loopback address (anyone who can reach it uses your session)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.DurationVar(&o.poll, "poll", agent.DefaultPoll, "how often to look at the store for a login or logout")
	fs.DurationVar(&o.grace, "grace", agent.DefaultGrace, "how long requests in flight may finish at shutdown")
	o.isv.bind(fs)
}

// runAgent opens the backend, starts the listeners and runs until ctx ends
// (SIGTERM/SIGINT); SIGHUP reloads.
func runAgent(ctx context.Context, o *agentOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	logger := o.logger()
	setRedisLogger(logger)
	o.warnCustomEnv(logger)
	var err error
	var ag *agent.Agent
	if o.ops, err = newOps(func() error { return ag.Ready() }, o.io.Now); err != nil {
		return err
	}
	ag, err = agent.New(agent.Config{Open: func() (*agent.Backend, error) { return o.openBackend(logger) }, Logger: logger, Poll: o.poll})
	if err != nil {
		return err
	}
	path, err := o.socketPath()
	if err != nil {
		ag.Close()
		return err
	}
	sock, err := agent.Listen(path)
	if err != nil {
		ag.Close()
		return usageErrorf(o.cmd, "%v", err)
	}
	servers, err := o.servers(ag, sock, logger)
	if err != nil {
		sock.Close()
		ag.Close()
		return err
	}
	logger.Info("agent started", "socket", path, "proxy", o.proxy, "metrics", o.metrics, "sink", o.sink, "keystore", o.g.keystore)
	return o.serve(ctx, ag, servers, logger)
}

// server is one listener and what it serves.
type server struct {
	l net.Listener
	h http.Handler
}

// servers opens the --proxy and --metrics listeners besides the socket.
func (o *agentOptions) servers(ag *agent.Agent, sock net.Listener, logger *slog.Logger) ([]server, error) {
	out := []server{{sock, ag.SocketHandler()}}
	if o.proxy != "" {
		h, err := o.proxyHandler(ag)
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", o.proxy)
		if err != nil {
			return nil, usageErrorf(o.cmd, "--proxy %s: %v", o.proxy, err)
		}
		out = append(out, server{l, h})
	}
	if o.metrics != "" {
		l, err := net.Listen("tcp", o.metrics)
		if err != nil {
			closeAll(out)
			return nil, usageErrorf(o.cmd, "--metrics %s: %v", o.metrics, err)
		}
		out = append(out, server{l, o.ops.handler})
	}
	return out, nil
}

func closeAll(ss []server) {
	for _, s := range ss {
		s.l.Close()
	}
}

// serve runs the agent, its sink and its listeners until ctx ends, and
// reloads on SIGHUP. At the end the listeners stop first (requests in
// flight finish within --grace, the socket is removed), then the sink is
// removed, then the agent closes its session (never logging out).
func (o *agentOptions) serve(ctx context.Context, ag *agent.Agent, servers []server, logger *slog.Logger) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	agentCtx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAgent()
	ran := make(chan error, 1)
	go func() { ran <- ag.Run(agentCtx) }()
	var wg sync.WaitGroup
	errs := make(chan error, len(servers))
	for _, s := range servers {
		wg.Go(func() {
			if err := agent.Serve(ctx, s.l, s.h, o.grace, logger); err != nil {
				errs <- err
				stop()
			}
		})
	}
	if o.sink != "" {
		sink, _ := agent.NewSink(o.sink, o.sinkFormat) // checked by o.check
		wg.Go(func() { ag.RunSink(ctx, sink) })
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { reloadOn(ctx, hup, ag, logger) })
	<-ctx.Done()
	wg.Wait()
	stopAgent()
	runErr := <-ran
	close(errs)
	logger.Info("agent stopped: socket removed, session kept in the store")
	if err := <-errs; err != nil {
		return err
	}
	return runErr
}

// reloadOn reloads the agent on each signal until ctx ends.
func reloadOn(ctx context.Context, sig <-chan os.Signal, ag *agent.Agent, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			if err := ag.Reload(); err != nil && ctx.Err() == nil {
				logger.Warn("SIGHUP: could not reload; serving on with the old keys", "error", err)
			}
		}
	}
}

// socketPath is --socket, else $PMX_AGENT_SOCK, else the default for --env.
func (o *agentOptions) socketPath() (string, error) {
	if o.socket != "" {
		return o.socket, nil
	}
	return agent.SocketPath(o.io.Getenv, o.g.settings(o.io.Getenv).EnvironmentName())
}

// check validates the flags before anything is opened.
func (o *agentOptions) check() error {
	if o.logFormat != "text" && o.logFormat != "json" {
		return usageErrorf(o.cmd, "--log-format %q: use text or json", o.logFormat)
	}
	if o.poll <= 0 || o.grace < 0 {
		return usageErrorf(o.cmd, "--poll must be positive and --grace not negative")
	}
	if o.sink != "" {
		if _, err := agent.NewSink(o.sink, o.sinkFormat); err != nil {
			return usageErrorf(o.cmd, "--sink: %v", err)
		}
	}
	for flag, addr := range map[string]string{"--proxy": o.proxy, "--metrics": o.metrics} {
		if addr != "" && !o.allowRemote && !loopback(addr) {
			return usageErrorf(o.cmd, "%s %s is not a loopback address: use 127.0.0.1:PORT, or add --allow-remote to expose it", flag, addr)
		}
	}
	return nil
}

// loopback reports whether addr (host:port) names a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// warnCustomEnv logs (instead of printing) the warning about an --env that
// names a custom environment, so that JSON logs stay JSON.
func (o *agentOptions) warnCustomEnv(logger *slog.Logger) {
	o.envWarned = true
	env := o.g.settings(o.io.Getenv).EnvironmentName()
	if _, err := traderapi.LookupEnvironment(env); err != nil {
		logger.Warn("--env names a custom environment at --base-url, with sessions of its own", "env", env)
	}
}
