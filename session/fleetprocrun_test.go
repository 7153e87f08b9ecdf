//go:build unix

package session_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// processFleet is a Redis, an exchange and the processes of one fleet.
type processFleet struct {
	x       *fleetExchange
	redis   *redistest.Server
	keyFile string
	admin   *redis.Store
	key     keystore.Key
	procs   []*fleetProc
}

// TestFleetProcesses: four re-executed processes × six goroutines send
// orders through Transport on one session in Redis, with 3 s access
// tokens, for several lifetimes, through: Pub/Sub connections killed; a
// process with a wrong key; the lock holder SIGKILLed mid-refresh; the lock
// holder SIGSTOPped past the lease; Redis down for longer than a lifetime
// (and a cold start meanwhile). The exchange counts about one refresh per
// refresh period while Redis is up; every 401 it answered is counted by
// reason and explained; the processes converge on one generation after
// each fault; the scan of Redis finds no secret.
func TestFleetProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 30 s of a four-process fleet")
	}
	t.Parallel()
	const ttl = 3 * time.Second
	f := newProcessFleet(t, ttl, 4)
	f.steadyWithPubSubKilled(t, ttl)
	t.Logf("401s so far: %v", f.x.rejections())
	f.wrongKey(t)
	t.Logf("401s so far: %v", f.x.rejections())
	f.killHolder(t, ttl)
	t.Logf("401s so far: %v", f.x.rejections())
	f.stopHolder(t)
	t.Logf("401s so far: %v", f.x.rejections())
	f.redisDown(t, ttl)
	t.Logf("401s so far: %v", f.x.rejections())
	f.finish(t)
}

// newProcessFleet logs a human in to a new Redis and starts n fleet
// processes on the session, with access tokens of lifetime ttl.
func newProcessFleet(t *testing.T, ttl time.Duration, n int) *processFleet {
	t.Helper()
	f := &processFleet{x: startFleetExchange(t, traderapitest.Options{AccessTTL: ttl}), redis: redistest.StartServer(t), keyFile: writeRedisKey(t)}
	f.admin = openFleetStore(t, f.redis.URL(), f.keyFile, "test")
	f.key = keystore.Key{Environment: traderapitest.SandboxEnvironment, Username: testUser, Item: keystore.ItemSession}
	human, err := session.New(session.Config{Client: f.x.client(t), Store: f.admin})
	if err != nil {
		t.Fatal(err)
	}
	if err := human.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	_ = human.Close()
	for i := range n {
		f.procs = append(f.procs, startFleetProcess(t, f.x, f.redis.URL(), f.keyFile, "p"+strconv.Itoa(i)))
	}
	for _, p := range f.procs {
		p.waitReady(t)
	}
	return f
}

// steadyWithPubSubKilled runs two lifetimes, killing every Pub/Sub
// connection halfway, and counts the refreshes.
func (f *processFleet) steadyWithPubSubKilled(t *testing.T, ttl time.Duration) {
	calls, start := f.x.Calls(traderapi.PathRefresh), time.Now()
	time.Sleep(ttl)
	killed, err := f.redis.Client(t).ClientKillByFilter(context.Background(), "TYPE", "pubsub").Result()
	if err != nil || killed < 4 {
		t.Fatalf("CLIENT KILL TYPE pubsub: %d killed, %v; want one per process", killed, err)
	}
	time.Sleep(ttl)
	n, periods := f.x.Calls(traderapi.PathRefresh)-calls, int(time.Since(start)/(ttl/2))
	t.Logf("steady: %d processes made %d refresh calls in %s (%d refresh periods of %s); %d Pub/Sub connections killed halfway",
		len(f.procs), n, time.Since(start).Round(time.Millisecond), periods, ttl/2, killed)
	// At most one per refresh period (a loaded machine only makes them
	// later, so fewer); at least one per lifetime but the last, or tokens
	// would have expired.
	if lifetimes := int(time.Since(start) / ttl); n > periods+1 || n < lifetimes-1 {
		t.Errorf("%d refresh calls in %d refresh periods (%d lifetimes), want at most one per period and one per lifetime for the fleet", n, periods, lifetimes)
	}
	f.converged(t, "after the Pub/Sub connections were killed")
}

// converged waits until every live process reports the stored generation.
func (f *processFleet) converged(t *testing.T, when string) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, 15*time.Second, "the processes to converge "+when, func() bool {
		st, err := f.admin.Status(context.Background(), f.key)
		if err != nil {
			return false
		}
		for _, p := range f.procs {
			if p.generation() != st.Generation {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// wrongKey starts a process with another key file: it fails naming the
// key file, and the stored record stays as it was.
func (f *processFleet) wrongKey(t *testing.T) {
	before, err := f.admin.Status(t.Context(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.key")
	if _, err := redis.WriteKeyFile(wrong); err != nil {
		t.Fatal(err)
	}
	p := startFleetProcess(t, f.x, f.redis.URL(), wrong, "wrong")
	last := p.result(t)
	if !strings.HasPrefix(last, "error") || !strings.Contains(last, wrong) {
		t.Errorf("a process with a wrong key printed %q, want an error naming %s", last, wrong)
	}
	after, err := f.admin.Status(t.Context(), f.key)
	if _, gerr := f.admin.Get(t.Context(), f.key); err != nil || gerr != nil || after.KeyID != before.KeyID {
		t.Errorf("the stored record after a wrong-key process: key id %s→%s, read back: %v", before.KeyID, after.KeyID, gerr)
	}
	t.Logf("wrong key: %s", last)
}

// holder arms a hold on the next refresh and returns it once it arrived,
// with the process that holds the lock.
func (f *processFleet) holder(t *testing.T) (*traderapitest.Hold, *fleetProc, *redis.Status) {
	t.Helper()
	h := f.x.Hold(traderapi.PathRefresh)
	select {
	case <-h.Arrived():
	case <-time.After(15 * time.Second):
		t.Fatal("no refresh arrived in 15 s")
	}
	st, err := f.admin.Status(t.Context(), f.key)
	if err != nil || !st.Locked {
		t.Fatalf("a refresh is held but the lock is not: %+v, %v", st, err)
	}
	for i, p := range f.procs {
		if p.tag == st.LockHolder {
			f.procs = append(f.procs[:i:i], f.procs[i+1:]...)
			return h, p, st
		}
	}
	t.Fatalf("the lock holder %q is none of the processes", st.LockHolder)
	return nil, nil, nil
}

// takenOver waits until a process other than old's holder stored a newer
// generation and returns how long that took.
func (f *processFleet) takenOver(t *testing.T, old *redis.Status) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, 15*time.Second, "another process to take over the refresh", func() bool {
		st, err := f.admin.Status(context.Background(), f.key)
		return err == nil && st.Generation > old.Generation && st.SavedBy != old.LockHolder
	})
	return time.Since(start)
}

// killHolder SIGKILLs the lock holder while the exchange holds its
// refresh; another process takes over within the lease.
func (f *processFleet) killHolder(t *testing.T, ttl time.Duration) {
	h, p, st := f.holder(t)
	defer h.Release()
	_ = p.Cmd.Process.Kill()
	took := f.takenOver(t, st)
	t.Logf("SIGKILL of lock holder %s mid-refresh (lease %s left: %s): another process stored generation +1 after %s",
		p.tag, fleetLease, st.LockTTL, took.Round(time.Millisecond))
	// Bound by the protocol: the lease left, then the others' stale tokens
	// (a lifetime at most) and the back-off of their failed lock attempts.
	if bound := st.LockTTL + ttl + fleetRetry.MaxCooldown; took > bound {
		t.Errorf("the takeover took %s, want within the lease (%s left), a lifetime and a back-off (%s)", took, st.LockTTL, bound)
	}
	f.converged(t, "after the holder was killed")
}

// stopHolder SIGSTOPs the lock holder past the lease; another process
// takes over, and the stalled one's late write is refused: it adopts the
// newer record.
func (f *processFleet) stopHolder(t *testing.T) {
	h, p, st := f.holder(t)
	if err := p.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	h.Release() // its answer waits in the socket
	took := f.takenOver(t, st)
	time.Sleep(fleetLease / 2)
	if err := p.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	f.procs = append(f.procs, p)
	waitFor(t, 15*time.Second, "the stalled process's write to be refused", func() bool {
		return strings.Contains(p.Log.String(), "another process stored a newer session; adopting it") ||
			strings.Contains(p.Log.String(), "took up the stored session another process wrote")
	})
	t.Logf("the stalled process's log after SIGCONT:\n%s", tail(p.Log.String(), 3))
	t.Logf("SIGSTOP of lock holder %s mid-refresh: another process stored a newer generation %s later; after SIGCONT its late write was refused (generation fencing) and it adopted the newer record",
		p.tag, took.Round(time.Millisecond))
	f.converged(t, "after the stalled holder continued")
}

// redisDown kills Redis (after SAVE) for 1.5 lifetimes and restarts it
// on the same port with its data: the processes serve their tokens,
// refresh on their own, and reconcile by generation; a cold start meanwhile
// is a clear error naming Redis.
func (f *processFleet) redisDown(t *testing.T, ttl time.Duration) {
	if err := f.redis.Client(t).Save(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	f.redis.Kill()
	calls, down := f.x.Calls(traderapi.PathRefresh), time.Now()
	cold := startFleetProcess(t, f.x, f.redis.URL(), f.keyFile, "cold")
	if last := cold.result(t); !strings.HasPrefix(last, "error") || !strings.Contains(strings.ToLower(last), "redis") {
		t.Errorf("a cold start with Redis down printed %q, want an error naming Redis", last)
	} else {
		t.Logf("cold start with Redis down: %s", last)
	}
	time.Sleep(time.Until(down.Add(ttl * 3 / 2)))
	restartRedis(t, f.redis)
	took := f.converged(t, "after Redis came back")
	t.Logf("Redis down %s (%.1f lifetimes): %d refresh calls by %d processes on their own; they reconciled by generation %s after it came back",
		(ttl * 3 / 2), 1.5, f.x.Calls(traderapi.PathRefresh)-calls, len(f.procs), took.Round(time.Millisecond))
}

// restartRedis starts redis-server again on s's port and directory (its
// dump.rdb holds the data saved before it was killed).
func restartRedis(t *testing.T, s *redistest.Server) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.Dir, "--logfile", filepath.Join(s.Dir, "redis2.log"), "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, 30*time.Second, "Redis to answer again", func() bool {
		return s.Client(t).Ping(context.Background()).Err() == nil
	})
}

// finish stops the processes and checks every 401 the exchange answered.
func (f *processFleet) finish(t *testing.T) {
	for _, p := range f.procs {
		t.Logf("process %s: %s", p.tag, p.finish(t))
	}
	rej := f.x.rejections()
	t.Logf("orders: %d; 401s by reason: %v", f.x.Calls(traderapi.PathInsertOrder), rej)
	for reason, n := range rej {
		// Only requests that the SIGSTOPped process had taken a token for
		// before it stopped may reach the exchange after that token
		// expired (at most one per goroutine), and, with 3 s tokens on a
		// loaded machine, one per process whose lone refresh during the
		// Redis outage landed at the token's very end (the transport
		// retried each with a new token).
		if reason != "access token expired" || n > fleetWorkers+len(f.procs) {
			t.Errorf("%d orders got a 401 (%s)", n, reason)
		}
	}
	rec, err := f.admin.Get(t.Context(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	scanRedis(t, f.redis.URL(), append(requestSecrets(f.x.Requests()), rec.RefreshToken.Reveal(), rec.AccessToken.Reveal()))
}

// tail is the last n log lines in s (the "gen" reports left out).
func tail(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "msg=") {
			out = append(out, l)
		}
	}
	return strings.Join(out[max(0, len(out)-n):], "\n")
}

// rejections returns the 401s answered to insert_order, by reason.
func (x *fleetExchange) rejections() map[string]int {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]int{}
	for k, v := range x.rejected {
		out[k] = v
	}
	return out
}
