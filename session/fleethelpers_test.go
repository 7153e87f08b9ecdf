package session_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// fleetExchange is a local exchange behind a handler that counts every
// 401 it answers to insert_order, by the exchange's reason ("access token
// expired", "access token revoked", ...).
type fleetExchange struct {
	*traderapitest.Exchange
	URL string

	mu       sync.Mutex
	rejected map[string]int
}

// startFleetExchange starts the exchange with testUser registered.
func startFleetExchange(t testing.TB, opts traderapitest.Options) *fleetExchange {
	t.Helper()
	x := &fleetExchange{Exchange: traderapitest.New(opts), rejected: map[string]int{}}
	if err := x.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(x.serve))
	x.URL = srv.URL
	t.Cleanup(func() { x.ReleaseHolds(); srv.Close() })
	return x
}

func (x *fleetExchange) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusWriter{ResponseWriter: w}
	x.ServeHTTP(rec, r)
	if r.URL.Path == traderapi.PathInsertOrder && rec.status == http.StatusUnauthorized {
		_, err := x.Authenticate(r.Header.Get("Authorization"))
		reason := "unknown"
		if err != nil {
			reason = strings.TrimPrefix(err.Error(), "traderapitest: ")
		}
		x.mu.Lock()
		x.rejected[reason]++
		x.mu.Unlock()
	}
}

func (x *fleetExchange) environment() traderapi.Environment {
	return traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: x.URL, Host: x.Host()}
}

func (x *fleetExchange) client(t testing.TB) *traderapi.Client {
	t.Helper()
	c, err := traderapi.NewClient(x.environment())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// writeRedisKey writes a new key file in a temporary directory.
func writeRedisKey(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redis.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// openFleetStore opens a Redis store of its own (its own connections, as
// a process has) for one member of a fleet.
func openFleetStore(t testing.TB, url, keyFile, tag string, opts ...redis.Option) *redis.Store {
	t.Helper()
	s, err := redis.Open(url, keyFile, append([]redis.Option{redis.WithSavedBy(tag)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fleetRetry is a fast retry policy for fleet tests.
var fleetRetry = session.Retry{Attempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
	MaxElapsed: 3 * time.Second, Cooldown: 100 * time.Millisecond, MaxCooldown: 500 * time.Millisecond}

// event is one log record a manager wrote, with when it was handled.
type event struct {
	at    time.Time
	who   string
	msg   string
	attrs map[string]string
}

// eventLog collects the log records of every manager of a fleet, and
// their text (to grep for secrets).
type eventLog struct {
	mu     sync.Mutex
	events []event
	text   bytes.Buffer
}

// logger returns a logger whose records land in l, tagged who.
func (l *eventLog) logger(who string) *slog.Logger {
	return slog.New(&eventHandler{log: l, who: who})
}

// find returns the events with msg.
func (l *eventLog) find(msg string) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for _, e := range l.events {
		if e.msg == msg {
			out = append(out, e)
		}
	}
	return out
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

type eventHandler struct {
	log   *eventLog
	who   string
	attrs []slog.Attr
}

func (h *eventHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *eventHandler) Handle(_ context.Context, r slog.Record) error {
	e := event{at: time.Now(), who: h.who, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		e.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { e.attrs[a.Key] = a.Value.Resolve().String(); return true })
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	h.log.events = append(h.log.events, e)
	_ = slog.NewTextHandler(&h.log.text, nil).Handle(context.Background(), r)
	return nil
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{log: h.log, who: h.who, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *eventHandler) WithGroup(string) slog.Handler { return h }

// percentile returns the p-th percentile (0-100) of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}
