package isv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/redis"
)

// The environment of a fleet process (TestHelperISVFleet).
const (
	fleetEnv      = "PMX_ISV_TEST_FLEET"
	fleetAuthEnv  = "PMX_ISV_TEST_FLEET_AUTH"
	fleetAudEnv   = "PMX_ISV_TEST_FLEET_AUDIENCE"
	fleetAPIEnv   = "PMX_ISV_TEST_FLEET_API"
	fleetStoreEnv = "PMX_ISV_TEST_FLEET_STORE" // redis://... or a directory
	fleetKeyEnv   = "PMX_ISV_TEST_FLEET_KEY"   // the Redis key file
	fleetRunEnv   = "PMX_ISV_TEST_FLEET_RUN"
	fleetPrefix   = "fleet: "
)

// TestHelperISVFleet is one process of TestMultiProcessFleet, run by it as
// a re-executed test binary; on its own it does nothing. It runs one
// Source on the shared store, used by three goroutines that call the API,
// for the given time, then prints what it saw.
func TestHelperISVFleet(t *testing.T) {
	if os.Getenv(fleetEnv) != "1" {
		return
	}
	store := fleetProcessStore(t)
	run, err := time.ParseDuration(os.Getenv(fleetRunEnv))
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{ClientID: testClientID, Key: loadKey(t, "client-pkcs1.pem"), AuthURL: os.Getenv(fleetAuthEnv),
		Audience: os.Getenv(fleetAudEnv), APIURL: os.Getenv(fleetAPIEnv), Store: store, Margin: fleetMargin})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(t.Context(), run)
	defer cancel()
	var res driveResult
	drive(ctx, src, os.Getenv(fleetAPIEnv), 3, &res)
	fmt.Printf(fleetPrefix+"requests=%d adopted=%d tokens=%d calls=%d rejected=%d errors=%d first_error=%v\n",
		src.requests.Load(), src.adopted.Load(), res.tokens.Load(), res.calls.Load(), res.rejected.Load(), res.errs.Load(), res.firstErr)
}

// fleetProcessStore opens the store a fleet process was given.
func fleetProcessStore(t *testing.T) Store {
	where := os.Getenv(fleetStoreEnv)
	if strings.HasPrefix(where, "redis://") {
		s, err := redis.Open(where, os.Getenv(fleetKeyEnv))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s, err := file.New(where)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fleetReport is what a fleet process printed.
type fleetReport struct {
	requests, adopted, tokens, calls, rejected, errs int64
	firstErr                                         string
}

// runProcesses runs n fleet processes on tb and store for d and returns
// their reports.
func runProcesses(t *testing.T, tb *testbed, n int, store, keyFile string, d time.Duration) []fleetReport {
	t.Helper()
	reports := make([]fleetReport, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := helperproc.Test(t, "TestHelperISVFleet", fleetEnv+"=1", fleetAuthEnv+"="+tb.authURL, fleetAudEnv+"="+tb.auth.Audience(),
			fleetAPIEnv+"="+tb.apiURL, fleetStoreEnv+"="+store, fleetKeyEnv+"="+keyFile, fleetRunEnv+"="+d.String())
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("fleet process %d: %v\n%s", i, err, out)
				return
			}
			reports[i] = parseReport(t, out)
		})
	}
	wg.Wait()
	return reports
}

// parseReport reads the report line of a fleet process's output.
func parseReport(t *testing.T, out []byte) fleetReport {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), fleetPrefix)
		if !ok {
			continue
		}
		var r fleetReport
		if _, err := fmt.Sscanf(line, "requests=%d adopted=%d tokens=%d calls=%d rejected=%d errors=%d first_error=%s",
			&r.requests, &r.adopted, &r.tokens, &r.calls, &r.rejected, &r.errs, &r.firstErr); err != nil {
			t.Fatalf("a fleet process's report %q: %v", line, err)
		}
		return r
	}
	t.Fatalf("a fleet process printed no report:\n%s", out)
	return fleetReport{}
}

// checkProcesses fails t unless every process's tokens worked and the
// fleet requested no more than a lone Source would (plus slack).
func checkProcesses(t *testing.T, name string, tb *testbed, reports []fleetReport, d time.Duration, lone int64) {
	t.Helper()
	var requests, adopted, calls int64
	for i, r := range reports {
		requests += r.requests
		adopted += r.adopted
		calls += r.calls
		if r.errs != 0 || r.rejected != 0 || r.calls == 0 {
			t.Errorf("fleet process %d: %d Token errors (first: %s), %d of %d API calls refused", i, r.errs, r.firstErr, r.rejected, r.calls)
		}
	}
	got := tb.auth.Requests()
	t.Logf("%s: %d processes over %s (%.1f lifetimes of %s): %d token requests (%.2f per lifetime; one Source alone: %d, %.2f per lifetime; %d independent processes would make ~%d), %d adoptions, %d API calls all accepted",
		name, len(reports), d, float64(d)/float64(fleetTTL), fleetTTL, got, perLifetime(got, d), lone, perLifetime(lone, d),
		len(reports), int64(len(reports))*lone, adopted, calls)
	// A process counts a request as it sends it; its Close may cancel one
	// refresh still on the way (one per process: refreshes are
	// single-flight), which the server then never sees.
	if got > requests || got < requests-int64(len(reports)) {
		t.Errorf("the auth server counted %d token requests, the processes %d (at most %d of them cancelled by Close)",
			got, requests, len(reports))
	}
	if limit := maxRequests(lone, d); got > limit {
		t.Errorf("the fleet made %d token requests, over %d (one Source alone made %d)", got, limit, lone)
	}
}

func TestMultiProcessFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes for several token lifetimes")
	}
	const procs = 4
	run := 4 * fleetTTL
	t.Run("redis", func(t *testing.T) {
		_, rdb, srv, keyFile := redisStore(t)
		tb := fleetBed(t)
		lone, reports := withBaseline(t, run, func() []fleetReport { return runProcesses(t, tb, procs, srv.URL(), keyFile, run) })
		checkProcesses(t, "redis, processes", tb, reports, run, lone)
		scanForTokens(t, rdb, &driveResult{})
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		tb := fleetBed(t)
		lone, reports := withBaseline(t, run, func() []fleetReport { return runProcesses(t, tb, procs, dir, "", run) })
		checkProcesses(t, "file, processes", tb, reports, run, lone)
	})
}

// withBaseline runs f while a lone Source runs for d, and returns the lone
// Source's token requests and f's result.
func withBaseline[T any](t *testing.T, d time.Duration, f func() T) (int64, T) {
	t.Helper()
	var lone int64
	done := make(chan struct{})
	go func() { defer close(done); lone = baseline(t, d) }()
	v := f()
	<-done
	return lone, v
}
