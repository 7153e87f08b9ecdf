package metrics_test

import (
	"context"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/metrics"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A bot records its session's metrics with the OpenTelemetry SDK of its
// choice (here a ManualReader; in production an OTLP or Prometheus
// exporter): the Recorder is the manager's event observer.
func Example() {
	reader := sdkmetric.NewManualReader()
	rec, err := metrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Close()

	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	_ = srv.AddUser("trader1", "correct-horse-42-battery")
	client, _ := traderapi.NewClient(srv.Environment())
	m, err := session.New(session.Config{Client: client, Events: rec})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_ = m.Login(ctx, "trader1", "correct-horse-42-battery", "")
	_ = m.Refresh(ctx)
	_ = m.Refresh(ctx)
	m.Close() // delivers the queued events

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, in := range sm.Metrics {
			if sum, ok := in.Data.(metricdata.Sum[float64]); ok && in.Name == metrics.Refreshes {
				for _, p := range sum.DataPoints {
					result, _ := p.Attributes.Value("result")
					fmt.Println(in.Name, result.AsString(), p.Value)
				}
			}
		}
	}
	// Output: pmx.session.refreshes success 2
}
