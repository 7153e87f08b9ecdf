package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the Sentinel monitors the master under.
const MasterName = "mymaster"

// Sentinel is a master, one replica and one Sentinel watching them with
// quorum 1, a 1 s down-after and a 3 s failover timeout.
type Sentinel struct {
	Master   *Server
	Replica  *Server
	Sentinel *Server
}

// StartSentinel starts the master, the replica and the Sentinel, and waits
// until the replica is in sync and the Sentinel knows it. Every process is
// killed when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	Require(t, "redis-server", "redis-cli", "redis-sentinel")
	s := &Sentinel{Master: StartServer(t)}
	s.Replica = StartServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port))
	s.Sentinel = start(t, "redis-sentinel", false, func(port int, dir string) []string {
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
			"sentinel monitor %[4]s 127.0.0.1 %[5]d 1\n"+
			"sentinel down-after-milliseconds %[4]s 1000\nsentinel failover-timeout %[4]s 3000\n"+
			"sentinel parallel-syncs %[4]s 1\n",
			port, dir, filepath.Join(dir, "redis.log"), MasterName, s.Master.Port)
		_ = os.WriteFile(conf, []byte(text), 0o600)
		return []string{conf}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	if err := waitFor(ctx, s.replicaReady(ctx)); err != nil {
		t.Fatalf("sentinel setup: %v\nsentinel log:\n%s\nreplica log:\n%s", err, s.Sentinel.Log(), s.Replica.Log())
	}
	return s
}

// replicaReady reports whether the replica is in sync with the master and
// the Sentinel lists it.
func (s *Sentinel) replicaReady(ctx context.Context) func() (bool, error) {
	return func() (bool, error) {
		info, err := cli(ctx, "-p", strconv.Itoa(s.Replica.Port), "info", "replication")
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false, err
		}
		reps, err := cli(ctx, "-p", strconv.Itoa(s.Sentinel.Port), "sentinel", "replicas", MasterName)
		return err == nil && strings.Contains(reps, strconv.Itoa(s.Replica.Port)), err
	}
}

// MasterAddr asks the Sentinel for the current master's address.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	out, err := cli(ctx, "-p", strconv.Itoa(s.Sentinel.Port), "sentinel", "get-master-addr-by-name", MasterName)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", fmt.Errorf("sentinel answered %q", out)
	}
	return f[0] + ":" + f[1], nil
}

// KillMaster kills the master (SIGKILL) and waits until the Sentinel has
// promoted the replica; the replica then is the master, and Master the
// dead process.
func (s *Sentinel) KillMaster(t testing.TB) {
	t.Helper()
	s.Master.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	err := waitFor(ctx, func() (bool, error) {
		addr, err := s.MasterAddr(ctx)
		return addr == s.Replica.Addr, err
	})
	if err != nil {
		t.Fatalf("no failover to the replica: %v\nsentinel log:\n%s", err, s.Sentinel.Log())
	}
}

// URL returns the redis-sentinel:// URL of the Sentinel.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + s.Sentinel.Addr + "?master=" + MasterName
}

// Client returns a go-redis Sentinel failover client, closed when the test
// ends.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: []string{s.Sentinel.Addr}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
