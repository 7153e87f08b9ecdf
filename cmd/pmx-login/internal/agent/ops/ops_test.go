package ops_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent/ops"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/metrics"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape GETs /metrics from h and parses it with the Prometheus text
// parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, rec.Body)
	}
	return fams
}

// total adds up a counter family's samples whose labels include match.
func total(fams map[string]*dto.MetricFamily, name string, match ...string) float64 {
	sum := 0.0
	for _, m := range fams[name].GetMetric() {
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			ok = ok && label(m, match[i]) == match[i+1]
		}
		if ok {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestMetricsCountWhatTheExchangeSaw: over refreshes with a 503, an HTML
// 403 and a rejected refresh token, /metrics counts exactly the calls the
// exchange saw, and the token's remaining seconds and the state follow.
func TestMetricsCountWhatTheExchangeSaw(t *testing.T) {
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	_ = srv.AddUser("trader1", "correct-horse-42-battery")
	client, _ := traderapi.NewClient(srv.Environment())
	now := time.Now()
	var ready error
	m, err := ops.NewMetrics(ops.Config{Ready: func() error { return ready }, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	h := ops.NewHandler(m)
	mgr, err := session.New(session.Config{Client: client, Events: m,
		Retry: session.Retry{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mgr.Login(ctx, "trader1", "correct-horse-42-battery", ""); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503, Times: 1})
	_ = mgr.Refresh(ctx)
	srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 403, HTML: true, Times: 1})
	_ = mgr.Refresh(ctx)
	_ = mgr.Refresh(ctx)
	info, _ := mgr.TokenInfo(ctx)
	srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 401})
	_ = mgr.Refresh(ctx)
	mgr.Close() // delivers the queued events

	fams := scrape(t, h)
	calls := float64(srv.Calls(traderapi.PathRefresh))
	checks := []struct {
		what      string
		got, want float64
	}{
		{"refreshes", total(fams, "pmx_session_refreshes_total"), calls},
		{"failed refreshes (503, 403, 401)", total(fams, "pmx_session_refreshes_total", "result", "failure"), 3},
		{"unavailable failures (503, HTML 403)", total(fams, "pmx_session_refresh_failures_total", "kind", "unavailable"), 2},
		{"ended, rejected", total(fams, "pmx_session_ended_total", "reason", "rejected"), 1},
		{"state ended", total(fams, "pmx_session_state", "state", "ended"), 1},
		{"remaining after the end", total(fams, "pmx_session_token_remaining_seconds"), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if info.Expiry.IsZero() {
		t.Fatal("no token info")
	}
}

// TestRemainingIsComputedAtScrape: the seconds until expiry fall with the
// clock between two scrapes, without an event.
func TestRemainingIsComputedAtScrape(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	m, err := ops.NewMetrics(ops.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(session.Event{Type: session.EventRefreshSucceeded, Origin: session.OriginSession, Reason: session.ReasonStale,
		Expiry: now.Add(90 * time.Second)})
	h := ops.NewHandler(m)
	if got := total(scrape(t, h), "pmx_session_token_remaining_seconds"); got != 90 {
		t.Fatalf("remaining = %v, want 90", got)
	}
	now = now.Add(30 * time.Second)
	if got := total(scrape(t, h), "pmx_session_token_remaining_seconds"); got != 60 {
		t.Fatalf("remaining 30 s later = %v, want 60", got)
	}
}

// TestReadyz: 200 with a token, 503 with the reason's kind without one;
// /healthz answers either way; pmx_agent_ready follows.
func TestReadyz(t *testing.T) {
	var ready error
	m, _ := ops.NewMetrics(ops.Config{Ready: func() error { return ready }})
	h := ops.NewHandler(m)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz = %d with a token", code)
	}
	ready = errors.Join(errors.New("logged out"), session.ErrNotLoggedIn)
	code, body := get("/readyz")
	if code != 503 || !strings.Contains(body, `"kind":"not logged in"`) {
		t.Fatalf("/readyz without a token = %d %s", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if got := total(scrape(t, h), "pmx_agent_ready"); got != 0 {
		t.Fatalf("pmx_agent_ready = %v without a token", got)
	}
}

// TestNoIdentityInLabels: no label of any instrument can hold a user,
// token, host or pid: the table's attributes are a closed set.
func TestNoIdentityInLabels(t *testing.T) {
	allowed := map[string]bool{"origin": true, "result": true, "reason": true, "kind": true, "state": true, "status": true}
	for _, in := range metrics.Table() {
		for _, a := range in.Attributes {
			if !allowed[a] {
				t.Errorf("%s has the attribute %q", in.Prometheus, a)
			}
		}
	}
}
