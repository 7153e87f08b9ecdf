package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/pmx-login/pmx-login/session"
)

// Recorder records a session's events as OpenTelemetry metrics. It is a
// session.Observer; one Recorder may observe several managers and
// sources (their events carry their origin). It is safe for concurrent
// use.
type Recorder struct {
	now        func() time.Time
	counters   map[string]metric.Float64Counter
	histograms map[string]metric.Float64Histogram
	gaugeInsts map[string]metric.Float64ObservableGauge
	reg        metric.Registration

	mu     sync.Mutex
	gauges map[string]map[attribute.Set]float64 // instrument → attributes → value
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithClock sets the clock that [TokenRemaining] is computed with
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(r *Recorder) { r.now = now } }

// New creates the instruments of [Table] on mp's meter
// "github.com/pmx-login/pmx-login/session/metrics".
func New(mp metric.MeterProvider, opts ...Option) (*Recorder, error) {
	r := &Recorder{now: time.Now, counters: map[string]metric.Float64Counter{},
		histograms: map[string]metric.Float64Histogram{}, gaugeInsts: map[string]metric.Float64ObservableGauge{},
		gauges: map[string]map[attribute.Set]float64{}}
	for _, o := range opts {
		o(r)
	}
	meter := mp.Meter("github.com/pmx-login/pmx-login/session/metrics")
	var observables []metric.Observable
	for _, in := range Table() {
		o, err := r.create(meter, in)
		if err != nil {
			return nil, fmt.Errorf("metrics: creating %s: %w", in.Name, err)
		}
		if o != nil {
			r.gaugeInsts[in.Name] = o
			observables = append(observables, o)
		}
	}
	reg, err := meter.RegisterCallback(r.observe, observables...)
	if err != nil {
		return nil, fmt.Errorf("metrics: registering the gauges: %w", err)
	}
	r.reg = reg
	return r, nil
}

// create makes one instrument; an observable gauge is returned to be
// registered.
func (r *Recorder) create(meter metric.Meter, in Instrument) (metric.Float64ObservableGauge, error) {
	var err error
	switch in.Kind {
	case Counter:
		r.counters[in.Name], err = meter.Float64Counter(in.Name, metric.WithUnit(in.Unit), metric.WithDescription(in.Description))
	case Histogram:
		r.histograms[in.Name], err = meter.Float64Histogram(in.Name, metric.WithUnit(in.Unit),
			metric.WithDescription(in.Description), metric.WithExplicitBucketBoundaries(Buckets()...))
	case Gauge:
		return meter.Float64ObservableGauge(in.Name, metric.WithUnit(in.Unit), metric.WithDescription(in.Description))
	}
	return nil, err
}

// Observe records e.
func (r *Recorder) Observe(e session.Event) {
	ctx := context.Background()
	for _, m := range Measure(e) {
		set := attrs(m.Attrs)
		if c, ok := r.counters[m.Instrument]; ok {
			c.Add(ctx, m.Value, metric.WithAttributeSet(set))
		} else if h, ok := r.histograms[m.Instrument]; ok {
			h.Record(ctx, m.Value, metric.WithAttributeSet(set))
		} else {
			r.setGauge(m.Instrument, set, m.Value)
		}
	}
}

func (r *Recorder) setGauge(name string, set attribute.Set, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gauges[name] == nil {
		r.gauges[name] = map[attribute.Set]float64{}
	}
	r.gauges[name][set] = v
}

// observe reports the gauges, and TokenRemaining from TokenExpiry.
func (r *Recorder) observe(_ context.Context, o metric.Observer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for _, in := range Table() {
		if in.Kind != Gauge || in.Name == TokenRemaining {
			continue
		}
		for set, v := range r.gauges[in.Name] {
			o.ObserveFloat64(r.gaugeInsts[in.Name], v, metric.WithAttributeSet(set))
			if in.Name == TokenExpiry {
				o.ObserveFloat64(r.gaugeInsts[TokenRemaining], Remaining(v, now), metric.WithAttributeSet(set))
			}
		}
	}
	return nil
}

// Remaining is the seconds from now until expiry (Unix seconds; 0: none),
// never below 0.
func Remaining(expiry float64, now time.Time) float64 {
	if expiry == 0 {
		return 0
	}
	return max(0, expiry-float64(now.UnixNano())/1e9)
}

// Close unregisters the gauges' callback.
func (r *Recorder) Close() error { return r.reg.Unregister() }

func attrs(as []Attr) attribute.Set {
	kv := make([]attribute.KeyValue, len(as))
	for i, a := range as {
		kv[i] = attribute.String(a.Key, a.Value)
	}
	return attribute.NewSet(kv...)
}
