package redistest

import (
	"testing"
)

func TestServer(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	c := s.Client(t)
	if err := c.Set(t.Context(), "a", "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	select {
	case <-s.Exited():
	default:
		t.Fatal("Kill returned before the process exited")
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	rc := c.Client(t)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := rc.Set(t.Context(), k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	t.Parallel()
	s := StartSentinel(t)
	c := s.Client(t)
	if err := c.Set(t.Context(), "a", "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.KillMaster(t)
	if err := c.Set(t.Context(), "a", "c", 0).Err(); err != nil {
		t.Fatal(err)
	}
}
