package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultGrace is how long in-flight requests may run on after shutdown
// begins.
const DefaultGrace = 10 * time.Second

// Serve serves h on l until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for up to grace, and closes
// what is left. A Unix socket listener removes its file when closed. The
// peer's uid is recorded for [Agent.SocketHandler]. logger takes the HTTP
// server's own error lines.
func Serve(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if _, ok := l.(*net.UnixListener); ok {
		srv.ConnContext = connContext
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("requests still running at the end of the shutdown deadline were cut off", "listener", l.Addr().String(), "grace", grace)
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
