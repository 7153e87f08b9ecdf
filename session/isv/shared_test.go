package isv

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/redis"
)

// fleetRun is how long the fleet tests run: three token lifetimes.
const fleetRun = 3 * fleetTTL

// fleetRunResult is what a run of Sources saw, the Sources, and how long
// it ran.
type fleetRunResult struct {
	res     *driveResult
	srcs    []*Source
	elapsed time.Duration
}

// runFleet drives n Sources of tb sharing store for d.
func runFleet(t *testing.T, tb *testbed, store Store, n int, d time.Duration, log *helperproc.Buffer) fleetRunResult {
	t.Helper()
	srcs := make([]*Source, n)
	for i := range srcs {
		srcs[i] = tb.sharedSource(t, store, log)
	}
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	res := &driveResult{}
	start := time.Now()
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Go(func() { drive(ctx, src, tb.apiURL, 3, res) })
	}
	wg.Wait()
	return fleetRunResult{res, srcs, time.Since(start)}
}

// checkFleet fails t unless every token worked and the fleet requested no
// more than a lone Source would (plus slack), and logs the figures.
func checkFleet(t *testing.T, name string, tb *testbed, res *driveResult, srcs []*Source, elapsed time.Duration, lone int64) {
	t.Helper()
	var requests, adopted int64
	for _, s := range srcs {
		requests += s.requests.Load()
		adopted += s.adopted.Load()
	}
	got := tb.auth.Requests()
	t.Logf("%s: %d Sources over %s (%.1f lifetimes of %s): %d token requests (%.2f per lifetime; one Source alone: %d, %.2f per lifetime; %d independent Sources would make ~%d), %d adoptions; %s",
		name, len(srcs), elapsed.Round(time.Millisecond), float64(elapsed)/float64(fleetTTL), fleetTTL, got, perLifetime(got, elapsed),
		lone, perLifetime(lone, elapsed), len(srcs), int64(len(srcs))*lone, adopted, res)
	if got != requests {
		t.Errorf("the auth server counted %d token requests, the Sources %d", got, requests)
	}
	if res.errs.Load() != 0 || res.rejected.Load() != 0 {
		t.Errorf("%d Token errors (first: %v), %d API calls refused", res.errs.Load(), res.firstErr, res.rejected.Load())
	}
	if res.calls.Load() == 0 {
		t.Error("no API call was made")
	}
	if limit := maxRequests(lone, elapsed); got > limit {
		t.Errorf("the fleet made %d token requests, over %d (one Source alone made %d)", got, limit, lone)
	}
}

// redisStore returns a Redis store on a fresh server, its client, the
// server and the key file.
func redisStore(t *testing.T) (*redis.Store, *goredis.Client, *redistest.Server, string) {
	t.Helper()
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	keyFile, key := newKeyFile(t)
	store, err := redis.New(rdb, key)
	if err != nil {
		t.Fatal(err)
	}
	return store, rdb, srv, keyFile
}

func TestSharedRedisOneRequestPerLifetime(t *testing.T) {
	store, rdb, _, _ := redisStore(t)
	tb := fleetBed(t)
	lone, run := withBaseline(t, fleetRun, func() fleetRunResult { return runFleet(t, tb, store, 6, fleetRun, nil) })
	res, srcs, elapsed := run.res, run.srcs, run.elapsed
	checkFleet(t, "redis, in-process", tb, res, srcs, elapsed, lone)
	scanForTokens(t, rdb, res)
}

func TestSharedFileOneRequestPerLifetime(t *testing.T) {
	store := fileStore(t)
	tb := fleetBed(t)
	lone, run := withBaseline(t, fleetRun, func() fleetRunResult { return runFleet(t, tb, store, 6, fleetRun, nil) })
	res, srcs, elapsed := run.res, run.srcs, run.elapsed
	checkFleet(t, "file, in-process", tb, res, srcs, elapsed, lone)
}

// fileStore returns a file store in a new private directory.
func fileStore(t testing.TB) *file.Store {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// scanForTokens fails t if any Redis key or value holds a token handed
// out, or anything shaped like a JWT.
func scanForTokens(t *testing.T, rdb *goredis.Client, res *driveResult) {
	t.Helper()
	ctx := t.Context()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, k := range keys {
		dump.WriteString(k + "\n")
		vals, err := redistest.Values(ctx, rdb, k)
		if err != nil {
			t.Error(err)
		}
		dump.WriteString(strings.Join(vals, "\n") + "\n")
	}
	if len(keys) == 0 {
		t.Fatal("nothing was stored in Redis")
	}
	text := dump.String()
	res.mu.Lock()
	defer res.mu.Unlock()
	for tok := range res.seen {
		if strings.Contains(text, tok) || strings.Contains(text, tok[strings.LastIndexByte(tok, '.')+1:]) {
			t.Fatalf("Redis holds an access token handed out (keys %q)", keys)
		}
	}
	if strings.Contains(text, "eyJ") {
		t.Fatalf("Redis holds something shaped like a JWT (keys %q)", keys)
	}
	t.Logf("scanned %d Redis keys: no token among %d handed out", len(keys), len(res.seen))
}

func TestSharedRedisDown(t *testing.T) {
	store, _, srv, _ := redisStore(t)
	srv.Kill()
	<-srv.Exited()
	tb := fleetBed(t)
	log := &helperproc.Buffer{}
	run := runFleet(t, tb, store, 3, 2*fleetTTL, log)
	res, srcs, elapsed := run.res, run.srcs, run.elapsed
	got := tb.auth.Requests()
	t.Logf("redis down: %d Sources over %s made %d token requests (each on its own); %s", len(srcs), elapsed.Round(time.Millisecond), got, res)
	if res.errs.Load() != 0 || res.rejected.Load() != 0 {
		t.Fatalf("%d Token errors (first: %v), %d API calls refused", res.errs.Load(), res.firstErr, res.rejected.Load())
	}
	for i, s := range srcs {
		if s.requests.Load() < 2 {
			t.Errorf("Source %d made %d token requests over two lifetimes with Redis down", i, s.requests.Load())
		}
	}
	out := log.String()
	if !strings.Contains(out, "the shared store is unavailable; requesting a token on our own") {
		t.Errorf("the store failures were not logged:\n%s", out)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	for tok := range res.seen {
		if strings.Contains(out, tok) {
			t.Fatal("the log holds an access token")
		}
	}
}
