package redistest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a local Redis Cluster of three masters, no replicas.
type Cluster struct {
	Nodes []*Server
	// Addrs are the nodes' addresses.
	Addrs []string
}

// StartCluster starts three redis-server nodes with cluster mode on, joins
// them with redis-cli --cluster create, and waits until every node reports
// cluster_state:ok. The nodes are killed when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	c := &Cluster{}
	for range 3 {
		n := start(t, "redis-server", true, func(port int, dir string) []string {
			return append(baseArgs(port, dir), "--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "2000")
		})
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	if _, err := cli(ctx, append(args, "--cluster-replicas", "0", "--cluster-yes")...); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if err := waitFor(ctx, func() (bool, error) { return clusterOK(ctx, n.Addr) }); err != nil {
			t.Fatalf("cluster node %s: %v\n%s", n.Addr, err, n.Log())
		}
	}
	return c
}

// clusterOK reports whether the node at addr sees cluster_state:ok and
// knows all three nodes.
func clusterOK(ctx context.Context, addr string) (bool, error) {
	out, err := cli(ctx, "-h", "127.0.0.1", "-p", port(addr), "cluster", "info")
	if err != nil {
		return false, err
	}
	return strings.Contains(out, "cluster_state:ok") && strings.Contains(out, "cluster_known_nodes:3"), nil
}

// URL returns the redis-cluster:// URL of the Cluster's nodes.
func (c *Cluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs, ",") }

// Client returns a go-redis Cluster client, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// waitFor polls cond every 50 ms until it is true or ctx ends.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// port returns the port part of a 127.0.0.1:port address.
func port(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if _, err := strconv.Atoi(addr[i+1:]); err != nil {
		return addr
	}
	return addr[i+1:]
}
