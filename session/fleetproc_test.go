//go:build unix

package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// The environment of a fleet process (TestHelperFleetProcess).
const (
	fleetProcEnv  = "PMX_TEST_FLEET_PROCESS"
	fleetRedisEnv = "PMX_TEST_FLEET_REDIS" // URL
	fleetKeyEnv   = "PMX_TEST_FLEET_KEY"   // key file
	fleetTagEnv   = "PMX_TEST_FLEET_TAG"   // WithSavedBy
	fleetLease    = time.Second
	fleetWorkers  = 6
	fleetPrefix   = "fleet: "
)

// TestHelperFleetProcess is one bot of a fleet, run as a re-executed test
// binary: it opens the Redis store (lease 1 s), resumes the session, runs
// Start, and has fleetWorkers goroutines send orders through Transport
// every 50 ms until its stdin closes. It prints "ready", "gen G" every
// 100 ms and "done ok=N bad=M slow=S maxwait=D" (S: orders whose token
// took over a second to get); a failure to open or resume is printed as
// "error ..." and ends it. Its log goes to stderr.
func TestHelperFleetProcess(t *testing.T) {
	if os.Getenv(fleetProcEnv) != "1" {
		return
	}
	say := func(format string, args ...any) { fmt.Printf(fleetPrefix+format+"\n", args...) }
	m, err := openFleetProcess()
	if err != nil {
		say("error %v", err)
		return
	}
	defer m.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	if err := m.Resume(ctx); err != nil {
		say("error %v", err)
		return
	}
	if err := m.Start(ctx); err != nil {
		say("error %v", err)
		return
	}
	say("ready")
	var c orderCounts
	var wg sync.WaitGroup
	for range fleetWorkers {
		wg.Go(func() { fleetOrders(ctx, m, &c) })
	}
	for ctx.Err() == nil {
		say("gen %d", m.Status().Generation)
		pause(ctx, 100*time.Millisecond)
	}
	wg.Wait()
	say("done ok=%d bad=%d slow=%d maxwait=%s", c.ok.Load(), c.bad.Load(), c.slow.Load(), time.Duration(c.maxWait.Load()))
}

// orderCounts are a fleet process's orders: accepted, refused, and how
// many waited over a second for their token (and the longest wait).
type orderCounts struct {
	ok, bad, slow, maxWait atomic.Int64
}

// waited counts the wait of one order for its token.
func (c *orderCounts) waited(d time.Duration) {
	if d > time.Second {
		c.slow.Add(1)
	}
	for {
		cur := c.maxWait.Load()
		if int64(d) <= cur || c.maxWait.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

func openFleetProcess() (*session.Manager, error) {
	env := traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: os.Getenv(botURLEnv), Host: os.Getenv(botHostEnv)}
	client, err := traderapi.NewClient(env)
	if err != nil {
		return nil, err
	}
	store, err := redis.Open(os.Getenv(fleetRedisEnv), os.Getenv(fleetKeyEnv), redis.WithSavedBy(os.Getenv(fleetTagEnv)),
		redis.WithLockLease(fleetLease), redis.WithWatchPoll(250*time.Millisecond))
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return session.New(session.Config{Client: client, Store: store, Username: testUser, Retry: fleetRetry, Logger: log})
}

// fleetOrders posts orders through m's transport until ctx ends,
// measuring how long each waits for its token first.
func fleetOrders(ctx context.Context, m *session.Manager, c *orderCounts) {
	ok, bad := &c.ok, &c.bad
	hc := &http.Client{Transport: m.Transport(nil), Timeout: 5 * time.Second}
	url := os.Getenv(botURLEnv) + traderapi.PathInsertOrder
	for ctx.Err() == nil {
		start := time.Now()
		if _, err := m.Token(ctx); err == nil {
			c.waited(time.Since(start))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(order))
		req.Host = os.Getenv(botHostEnv)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			bad.Add(1)
		default:
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok.Add(1)
			} else {
				bad.Add(1)
			}
		}
		pause(ctx, 50*time.Millisecond)
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// fleetProc is a running fleet process.
type fleetProc struct {
	*helperproc.LineProc
	tag   string
	ready chan struct{}
	ended chan struct{} // its stdout ended

	mu   sync.Mutex
	gen  uint64
	last string
}

// startFleetProcess starts one fleet process tagged tag with keyFile.
func startFleetProcess(t *testing.T, x *fleetExchange, redisURL, keyFile, tag string) *fleetProc {
	t.Helper()
	cmd := helperproc.Test(t, "TestHelperFleetProcess", fleetProcEnv+"=1", botURLEnv+"="+x.URL, botHostEnv+"="+x.Host(),
		fleetRedisEnv+"="+redisURL, fleetKeyEnv+"="+keyFile, fleetTagEnv+"="+tag)
	p := &fleetProc{LineProc: helperproc.StartLines(t, cmd, fleetPrefix), tag: tag, ready: make(chan struct{}), ended: make(chan struct{})}
	go p.read()
	return p
}

// read follows the process's lines: its generation, its last line, and
// when it is ready.
func (p *fleetProc) read() {
	defer close(p.ended)
	for ev := range p.Lines {
		p.mu.Lock()
		p.last = ev
		if g, isGen := strings.CutPrefix(ev, "gen "); isGen {
			p.gen, _ = strconv.ParseUint(g, 10, 64)
		}
		p.mu.Unlock()
		if ev == "ready" {
			close(p.ready)
		}
	}
}

// generation is the generation the process last reported.
func (p *fleetProc) generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// waitReady waits for "ready" and fails on an early end.
func (p *fleetProc) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-p.ready:
	case <-p.ended:
		t.Fatalf("fleet process %s ended before it was ready:\n%s", p.tag, p.Log)
	case <-time.After(30 * time.Second):
		t.Fatalf("fleet process %s not ready after 30 s:\n%s", p.tag, p.Log)
	}
}

// finish closes the process's stdin and returns its summary line.
func (p *fleetProc) finish(t *testing.T) string {
	t.Helper()
	_ = p.Stdin.Close()
	<-p.ended
	if err := p.Cmd.Wait(); err != nil {
		t.Errorf("fleet process %s: %v\n%s", p.tag, err, p.Log)
	}
	if out := p.Log.String(); strings.Contains(out, "panic") || strings.Contains(out, "DATA RACE") {
		t.Errorf("fleet process %s panicked or raced:\n%s", p.tag, out)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// result waits for a process that ends on its own and returns its last
// line.
func (p *fleetProc) result(t *testing.T) string {
	t.Helper()
	select {
	case <-p.ended:
	case <-time.After(60 * time.Second):
		t.Fatalf("fleet process %s still runs after 60 s:\n%s", p.tag, p.Log)
	}
	return p.finish(t)
}
