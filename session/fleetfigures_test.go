package session_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestFleetFigures measures, for BENCHMARKS.md, refresh calls per token
// lifetime for N managers running Start on one session (N = 1, 10, 100,
// simulated in one process: each manager has its own store and
// connections, as a process would), with the file store and with Redis,
// and the propagation of a new token from the leader's write to the last
// follower's adoption. Run with PMX_FLEET_FIGURES=1; it takes about 40 s.
func TestFleetFigures(t *testing.T) {
	if os.Getenv("PMX_FLEET_FIGURES") != "1" {
		t.Skip("set PMX_FLEET_FIGURES=1 to measure the fleet figures")
	}
	const ttl, lifetimes = 2 * time.Second, 3
	for _, n := range []int{1, 10, 100} {
		for _, backend := range []string{"file", "redis"} {
			t.Run(backend+"/"+strconv.Itoa(n), func(t *testing.T) {
				f := figureFleet(t, backend, n, ttl)
				calls := f.x.Calls(traderapi.PathRefresh)
				time.Sleep(lifetimes * ttl)
				per := float64(f.x.Calls(traderapi.PathRefresh)-calls) / lifetimes
				lat := f.propagation()
				t.Logf("FIGURE %s N=%d: %.1f refresh calls per %s lifetime; propagation over %d refreshes: p50 %s p99 %s",
					backend, n, per, ttl, len(lat), percentile(lat, 50), percentile(lat, 99))
			})
		}
	}
}

// figureFleet starts n managers on one session in backend, all running
// Start.
func figureFleet(t *testing.T, backend string, n int, ttl time.Duration) *fleet {
	if backend == "redis" {
		return startFleet(t, n, traderapitest.Options{AccessTTL: ttl}, nil)
	}
	f := &fleet{x: startFleetExchange(t, traderapitest.Options{AccessTTL: ttl}), log: &eventLog{}, writes: &writeTimes{at: map[uint64]time.Time{}}}
	dir := filepath.Join(t.TempDir(), "store")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i := range n {
		store, err := file.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := session.New(session.Config{Client: f.x.client(t), Store: store, Username: testUser, Retry: fleetRetry,
			Logger: f.log.logger("m" + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		if i == 0 {
			err = m.Login(t.Context(), testUser, testPassword, "")
		} else {
			err = m.Resume(t.Context())
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Start(ctx)
		f.ms = append(f.ms, m)
	}
	return f
}
