//go:build unix

package cli

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	redisstore "github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// chaosTTL is the access token lifetime of the chaos tests. The refresh
// margin is half of it (less up to 10% jitter): 10.8 s at the least, which
// must outlast the longest stall a fault causes a refresh: a dead lock
// holder's lease (3 s, the redis store's default). Each fault starts just
// before the token can first go stale (expiry − ttl/2 − jitter) and lasts
// 10 s: past the latest first refresh, before the earliest next one, so
// exactly one refresh of the test happens inside it.
const chaosTTL = 24 * time.Second

// stopTTL and stopFor are the SIGSTOP fault's: Redis is frozen for 31 s,
// over the one point where the agent's 64 s token goes stale (32 s before
// expiry, less up to 3.2 s of jitter), and thawed 4 s before that token
// expires, so the agent refreshes once, during the freeze, with nothing
// from the store.
const (
	stopTTL = 64 * time.Second
	stopFor = 31 * time.Second
)

// envLockHolder, set in a re-executed test binary, makes
// TestAgentLockHolderHelper take the session's Redis lock and wait to be
// killed.
const envLockHolder = "PMX_TEST_LOCK_HOLDER"

// TestAgentLockHolderHelper is a process that holds the lock and dies
// holding it: it runs only in the binary TestAgentChaosRedis re-executes.
func TestAgentLockHolderHelper(t *testing.T) {
	spec := os.Getenv(envLockHolder) // URL|key file|environment|user
	if spec == "" {
		t.Skip("helper process only")
	}
	p := strings.Split(spec, "|")
	st, err := redisstore.Open(p[0], p[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lock(context.Background(), keystore.Key{Environment: p[2], Username: p[3], Item: keystore.ItemSession}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Hour) // SIGKILLed before
}

// The agent on a Redis keystore, under three faults (each its own Redis,
// exchange and agent, run side by side): Redis SIGKILLed, Redis SIGSTOPped
// for 31 s across the refresh, and a process SIGKILLed while it held the session's
// lock. Throughout, a Python client (every 250 ms) and `pmx-login token`
// (every 250 ms) get a token the exchange accepts on every call (0
// failures), and the exchange sees exactly one refresh: the agent's.
func TestAgentChaosRedis(t *testing.T) {
	t.Parallel()
	requirePython(t)
	for _, fault := range []string{"sigkill-redis", "sigstop-redis", "sigkill-lock-holder"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			runChaos(t, fault)
		})
	}
}

func runChaos(t *testing.T, fault string) {
	rs := redistest.StartServer(t)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redisstore.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	ttl := chaosTTL
	if fault == "sigstop-redis" {
		ttl = stopTTL
	}
	r := newAgentRig(t, ttl, settings.Settings{Keystore: "redis", RedisURL: rs.URL(), RedisKeyFile: keyFile},
		"PMX_REDIS_URL="+rs.URL(), "PMX_REDIS_KEY_FILE="+keyFile)
	r.login(t)
	r.start(t, true)
	st, _ := r.status()
	expiry, err := time.Parse(time.RFC3339, *st.AccessExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	// Before the earliest stale point (the margin, ttl/2, less 10% jitter;
	// RFC 3339 drops the fraction: up to 1 s early).
	begin := expiry.Add(-ttl/2 - ttl/20 - 1200*time.Millisecond)
	// Shorter than the earliest next refresh (10.8 s after the first),
	// longer than the latest first one (its stale point, a 3 s lease).
	end := begin.Add(10 * time.Second)
	if fault == "sigstop-redis" {
		end = begin.Add(stopFor)
	}
	time.Sleep(time.Until(begin))
	refreshes := r.ex.Calls(traderapi.PathRefresh)
	var wg sync.WaitGroup
	var py pythonSummary
	wg.Go(func() { py = r.pythonTokens(t, time.Until(end), 250*time.Millisecond) })
	undo := startFault(t, fault, rs, r)
	calls, failures := cliTokenLoop(t, r, end)
	undo()
	wg.Wait()
	got := r.ex.Calls(traderapi.PathRefresh) - refreshes
	t.Logf("%s for %v: python %+v; pmx-login token %d calls, %d failures; %d refresh", fault, end.Sub(begin).Round(time.Second), py, calls, failures, got)
	if py.Failures != 0 || failures != 0 || py.Distinct < 2 || calls < 10 {
		t.Fatalf("%s: python %+v, cli %d failures of %d calls\n%s", fault, py, failures, calls, r.stderr)
	}
	if got != 1 {
		t.Fatalf("%s: the exchange saw %d refreshes over one token boundary, want 1\n%s", fault, got, r.stderr)
	}
}

// startFault starts the fault and returns what ends it.
func startFault(t *testing.T, fault string, rs *redistest.Server, r *agentRig) func() {
	switch fault {
	case "sigkill-redis":
		rs.Kill()
		return func() {}
	case "sigstop-redis":
		if err := rs.Stop(); err != nil {
			t.Fatal(err)
		}
		return func() { _ = rs.Continue() }
	}
	cmd := helperproc.Test(t, "TestAgentLockHolderHelper", envLockHolder+"="+strings.Join([]string{rs.URL(), r.settings.RedisKeyFile, r.settings.Env, testUser}, "|"))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("the lock holder said %q", line)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	return func() {}
}

// cliTokenLoop runs `pmx-login token` every 250 ms until end and checks
// each token with the exchange at once.
func cliTokenLoop(t *testing.T, r *agentRig, end time.Time) (calls, failures int) {
	for time.Now().Before(end) {
		calls++
		out, stderr, err := r.pmx(t, "token")
		if err != nil {
			failures++
			t.Logf("pmx-login token: %v: %s", err, stderr)
		} else if _, err := r.ex.Authenticate(strings.TrimSpace(out)); err != nil {
			failures++
			t.Logf("pmx-login token printed a token the exchange refuses: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return calls, failures
}
