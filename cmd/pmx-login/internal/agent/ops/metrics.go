// Package ops is the operations surface of `pmx-login agent --metrics`:
// /metrics in the Prometheus text format, built from the same table of
// instruments as the library's OpenTelemetry metrics (session/metrics)
// and fed by the session's events, plus the agent's own readiness and
// proxy counters; /healthz (the process answers) and /readyz (a valid
// token is held).
package ops

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/metrics"
)

// Config is what [NewMetrics] needs.
type Config struct {
	// Ready reports whether the agent holds a valid token (nil: ready).
	Ready func() error
	// Now is the clock that the token's remaining seconds are computed
	// with at each scrape (default time.Now).
	Now func() time.Time
}

// Metrics is a session.Observer that keeps the instruments of
// metrics.Table in a Prometheus registry of its own. It is safe for
// concurrent use.
type Metrics struct {
	cfg        Config
	reg        *prometheus.Registry
	counters   map[string]*prometheus.CounterVec
	histograms map[string]*prometheus.HistogramVec
	gauges     map[string]*prometheus.GaugeVec
	proxied    *prometheus.CounterVec

	mu     sync.Mutex
	expiry map[string]float64 // origin → the token's expiry, Unix seconds (0: none)
}

// NewMetrics registers every instrument of metrics.Table, the token's
// remaining seconds (computed at scrape), pmx_agent_ready and
// pmx_agent_proxy_requests_total.
func NewMetrics(cfg Config) (*Metrics, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry(), counters: map[string]*prometheus.CounterVec{},
		histograms: map[string]*prometheus.HistogramVec{}, gauges: map[string]*prometheus.GaugeVec{}, expiry: map[string]float64{}}
	for _, in := range metrics.Table() {
		if err := m.register(in); err != nil {
			return nil, err
		}
	}
	m.proxied = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pmx_agent_proxy_requests_total",
		Help: "Requests the agent's --proxy forwarded, by the status it answered (0: not answered)."}, []string{"code"})
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pmx_agent_ready",
		Help: "1 while the agent holds a valid token (its /readyz answers 200), else 0."}, func() float64 {
		if cfg.Ready() == nil {
			return 1
		}
		return 0
	})
	for _, c := range []prometheus.Collector{m.proxied, ready} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("ops: %w", err)
		}
	}
	return m, nil
}

// register creates one instrument of the table.
func (m *Metrics) register(in metrics.Instrument) error {
	var c prometheus.Collector
	switch {
	case in.Name == metrics.TokenRemaining:
		c = remaining{m: m, desc: prometheus.NewDesc(in.Prometheus, in.Description, in.Attributes, nil)}
	case in.Kind == metrics.Counter:
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: in.Prometheus, Help: in.Description}, in.Attributes)
		m.counters[in.Name], c = v, v
	case in.Kind == metrics.Histogram:
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: in.Prometheus, Help: in.Description,
			Buckets: metrics.Buckets()}, in.Attributes)
		m.histograms[in.Name], c = v, v
	default:
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: in.Prometheus, Help: in.Description}, in.Attributes)
		m.gauges[in.Name], c = v, v
	}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("ops: registering %s: %w", in.Prometheus, err)
	}
	return nil
}

// Observe records a session event (session.Observer).
func (m *Metrics) Observe(e session.Event) {
	for _, ms := range metrics.Measure(e) {
		labels := prometheus.Labels{}
		for _, a := range ms.Attrs {
			labels[a.Key] = a.Value
		}
		switch {
		case m.counters[ms.Instrument] != nil:
			m.counters[ms.Instrument].With(labels).Add(ms.Value)
		case m.histograms[ms.Instrument] != nil:
			m.histograms[ms.Instrument].With(labels).Observe(ms.Value)
		case m.gauges[ms.Instrument] != nil:
			m.gauges[ms.Instrument].With(labels).Set(ms.Value)
			if ms.Instrument == metrics.TokenExpiry {
				m.setExpiry(labels["origin"], ms.Value)
			}
		}
	}
}

func (m *Metrics) setExpiry(origin string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expiry[origin] = v
}

// ProxyRequest counts one request the proxy answered with code.
func (m *Metrics) ProxyRequest(code int) { m.proxied.WithLabelValues(strconv.Itoa(code)).Inc() }

// Registry is the registry the handler serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// remaining is pmx_session_token_remaining_seconds, computed at scrape.
type remaining struct {
	m    *Metrics
	desc *prometheus.Desc
}

func (r remaining) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

func (r remaining) Collect(ch chan<- prometheus.Metric) {
	r.m.mu.Lock()
	exp := maps.Clone(r.m.expiry)
	r.m.mu.Unlock()
	now := r.m.cfg.Now()
	for _, origin := range slices.Sorted(maps.Keys(exp)) {
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, metrics.Remaining(exp[origin], now), origin)
	}
}
