package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/metrics"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// eventRecorder collects events, for tests.
type eventRecorder struct {
	mu     sync.Mutex
	events []session.Event
}

func (l *eventRecorder) Observe(e session.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// count returns how many events of type t (and, if given, reason r) came.
func (l *eventRecorder) count(t session.EventType, r ...session.Reason) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == t && (len(r) == 0 || e.Reason == r[0]) {
			n++
		}
	}
	return n
}

// TestEventsAndMetricsMatchTheExchange runs a session through every fault a
// bot meets (503, 429 with Retry-After, a WAF's HTML 403, a load
// balancer's HTML 404, a rejected refresh token and its relogin, a 401 on an
// order, a logout in another process) and checks that the events and the
// OpenTelemetry metrics count exactly what the exchange saw.
func TestEventsAndMetricsMatchTheExchange(t *testing.T) {
	t.Parallel()
	log := &eventRecorder{}
	reader := sdkmetric.NewManualReader()
	rec, err := metrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, traderapitest.Options{}, session.Config{
		Events:  session.Observers(log, rec),
		Relogin: session.PasswordRelogin(session.StaticPassword(testPassword), nil),
	})
	f.login(t)
	logins := f.srv.Calls(traderapi.PathLogin)
	ctx := t.Context()

	refreshWith := func(fault traderapitest.Fault) error {
		f.srv.InjectFault(traderapi.PathRefresh, fault)
		defer f.srv.ClearFaults()
		return f.m.Refresh(ctx)
	}
	mustRefresh := func(what string, fault traderapitest.Fault) {
		if err := refreshWith(fault); err != nil {
			t.Fatalf("%s: Refresh: %v", what, err)
		}
	}
	mustRefresh("a 503, retried", traderapitest.Fault{Status: 503, Times: 1})
	mustRefresh("a 429 with Retry-After: 1, retried", traderapitest.Fault{RetryAfter: "1", Times: 1})
	for _, status := range []int{403, 404} {
		err := refreshWith(traderapitest.Fault{Status: status, HTML: true, Times: 1})
		if !strings.Contains(fmt.Sprint(err), "next attempt at") || session.Classify(err) != session.KindUnavailable {
			t.Fatalf("HTML %d: Refresh = %v (kind %v), want a retried failure of kind unavailable", status, err, session.Classify(err))
		}
		mustRefresh("after the HTML page", traderapitest.Fault{})
	}
	// The session's tokens revoked elsewhere (a logout call the store never
	// heard of): the exchange rejects the refresh token, the manager logs
	// in again.
	stored, err := f.store.Get(ctx, keystore.Key{Environment: f.m.Status().Environment, Username: testUser, Item: keystore.ItemSession})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.Logout(ctx, traderapi.LogoutRequest{AccessToken: stored.AccessToken, RefreshToken: stored.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	mustRefresh("the exchange rejects the revoked refresh token: relogin", traderapitest.Fault{})

	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Status: 401, Times: 1})
	resp, err := insertOrder(t, f, bytes.NewReader([]byte(order)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("order after a 401: %v %v", resp, err)
	}
	resp.Body.Close()

	other, err := session.New(session.Config{Client: f.client, Store: f.store})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Logout(ctx); err != nil {
		t.Fatalf("logout in another process: %v", err)
	}
	if err := f.m.Refresh(ctx); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Refresh after a logout elsewhere = %v, want ErrNotLoggedIn", err)
	}
	f.m.Close() // delivers the queued events

	refreshes := f.srv.Calls(traderapi.PathRefresh)
	relogins := f.srv.Calls(traderapi.PathLogin) - logins
	checks := []struct {
		what      string
		got, want int
	}{
		{"refresh_started", log.count(session.EventRefreshStarted), refreshes},
		{"refresh_succeeded + refresh_failed", log.count(session.EventRefreshSucceeded) + log.count(session.EventRefreshFailed), refreshes},
		{"refresh_failed (503, 429, HTML 403, HTML 404, 401)", log.count(session.EventRefreshFailed), 5},
		{"relogin_started", log.count(session.EventReloginStarted), relogins},
		{"relogin_succeeded", log.count(session.EventReloginSucceeded), relogins},
		{"unauthorized_retried", log.count(session.EventUnauthorizedRetried), f.srv.Calls(traderapi.PathInsertOrder) - 1},
		{"session_ended logged_out_elsewhere", log.count(session.EventSessionEnded, session.ReasonLoggedOutElsewhere), 1},
		{"metric refreshes", int(sum(t, reader, metrics.Refreshes)), refreshes},
		{"metric relogins", int(sum(t, reader, metrics.Relogins)), relogins},
		{"metric unauthorized_retried", int(sum(t, reader, metrics.UnauthorizedRetrys)), 1},
		{"metric ended", int(sum(t, reader, metrics.Ended)), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d (exchange: %d refresh calls, %d relogin calls)", c.what, c.got, c.want, refreshes, relogins)
		}
	}
}

// sum adds up every data point of the counter name.
func sum(t *testing.T, r *sdkmetric.ManualReader, name string) float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[float64]); ok && m.Name == name {
				for _, p := range s.DataPoints {
					total += p.Value
				}
			}
		}
	}
	return total
}

// TestLogLevels: a session that ends is one ERROR "session ended" with its
// reason; a refresh that gives up is one WARN "token refresh failed"; a
// relogin is an INFO "logged in again". No line holds a token.
func TestLogLevels(t *testing.T) {
	t.Parallel()
	var buf helperproc.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := setup(t, traderapitest.Options{}, session.Config{Logger: logger})
	tok := f.login(t)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503})
	_ = f.m.Refresh(t.Context())
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 401})
	_ = f.m.Refresh(t.Context())
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="token refresh failed"`,
		`level=ERROR msg="session ended" env=` + f.m.Status().Environment + ` user=trader1 reason=rejected`,
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("want one line with %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, tok.Reveal()) {
		t.Error("a log line holds the access token")
	}

	var rbuf helperproc.Buffer
	r := setup(t, traderapitest.Options{}, session.Config{
		Logger:  slog.New(slog.NewTextHandler(&rbuf, nil)),
		Relogin: session.PasswordRelogin(session.StaticPassword(testPassword), nil),
	})
	r.login(t)
	r.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 401, Times: 1})
	if err := r.m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rbuf.String(), `level=INFO msg="logged in again"`) || strings.Contains(rbuf.String(), "level=ERROR") {
		t.Errorf("relogin: want an INFO and no ERROR:\n%s", rbuf.String())
	}
}
