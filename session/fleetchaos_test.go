//go:build unix

package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TestFleetChaos (issue 16): three re-executed processes, six goroutines
// each sending orders through Transport on one session in Redis, 8 s
// access tokens (refreshed 4 s before they expire), through: the lock
// holder SIGKILLed mid-refresh (a replacement started), the lock holder
// SIGSTOPped past its lease, and Redis SIGSTOPped for 30 s. Each process
// counts the orders whose token took over a second to get; the exchange
// counts the orders it refused as sent with an expired token, and its
// refresh calls: one per refresh period for the fleet while Redis
// answers, one per period per process while it is frozen (each refreshes
// on its own, never more).
func TestFleetChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-process fleet for about a minute")
	}
	t.Parallel()
	const ttl = 8 * time.Second
	f := newProcessFleet(t, ttl, 3)
	f.steady(t, "start", ttl)
	f.killHolder(t, ttl)
	replacement := startFleetProcess(t, f.x, f.redis.URL(), f.keyFile, "p3")
	replacement.waitReady(t)
	f.procs = append(f.procs, replacement)
	f.stopHolder(t)
	f.redisFrozen(t, ttl, 30*time.Second)
	f.steady(t, "after the freeze", ttl)
	f.finishChaos(t)
}

// steady runs for d and checks the fleet made at most one refresh call
// per refresh period.
func (f *processFleet) steady(t *testing.T, when string, d time.Duration) {
	t.Helper()
	calls, start := f.x.Calls(traderapi.PathRefresh), time.Now()
	time.Sleep(d)
	n, periods := f.x.Calls(traderapi.PathRefresh)-calls, int(time.Since(start)/(d/2))
	t.Logf("steady (%s): %d processes made %d refresh calls in %s (%d refresh periods)", when, len(f.procs), n, time.Since(start).Round(time.Millisecond), periods)
	if n > periods+1 {
		t.Errorf("%d refresh calls in %d refresh periods (%s), want at most one per period for the fleet", n, periods, when)
	}
}

// redisFrozen SIGSTOPs Redis for d (it accepts connections and never
// answers) and then SIGCONTs it: each process refreshes on its own at
// most once per refresh period, and they converge after.
func (f *processFleet) redisFrozen(t *testing.T, ttl, d time.Duration) {
	t.Helper()
	calls := f.x.Calls(traderapi.PathRefresh)
	if err := f.redis.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	if err := f.redis.Continue(); err != nil {
		t.Fatal(err)
	}
	n := f.x.Calls(traderapi.PathRefresh) - calls
	took := f.converged(t, "after Redis continued")
	periods := int(d / (ttl / 2))
	t.Logf("Redis frozen %s: %d processes made %d refresh calls on their own (%d refresh periods each); converged %s after SIGCONT",
		d, len(f.procs), n, periods, took.Round(time.Millisecond))
	if n > len(f.procs)*(periods+1) {
		t.Errorf("%d refresh calls by %d processes in %d refresh periods with Redis frozen: more than one per period each", n, len(f.procs), periods)
	}
}

// finishChaos stops the processes and checks what the orders met: none
// waited over a second for its token, and the exchange refused none.
func (f *processFleet) finishChaos(t *testing.T) {
	t.Helper()
	slow, orders := 0, 0
	var maxWait time.Duration
	for _, p := range f.procs {
		summary := p.finish(t)
		var ok, bad, s int
		var wait string
		if _, err := fmt.Sscanf(summary, "done ok=%d bad=%d slow=%d maxwait=%s", &ok, &bad, &s, &wait); err != nil {
			t.Errorf("process %s ended with %q", p.tag, summary)
			continue
		}
		w, _ := time.ParseDuration(wait)
		slow, orders, maxWait = slow+s, orders+ok+bad, max(maxWait, w)
		t.Logf("process %s: %s", p.tag, summary)
	}
	rej := f.x.rejections()
	t.Logf("chaos: %d orders by the processes that ran to the end; %d waited over 1 s for their token (longest %s); 401s by reason: %v; %d refresh calls in all",
		orders, slow, maxWait.Round(time.Millisecond), rej, f.x.Calls(traderapi.PathRefresh))
	if slow != 0 {
		t.Errorf("%d orders waited over a second for a token", slow)
	}
	for reason, n := range rej {
		// Only the SIGSTOPped process may have an order in flight whose
		// token expired while it was stopped (one per goroutine at most).
		if reason != "access token expired" || n > fleetWorkers {
			t.Errorf("%d orders got a 401 (%s)", n, reason)
		}
	}
}
