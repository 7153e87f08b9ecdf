package session_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestFleetSentinelFailover: two managers on a Sentinel-managed Redis, 6 s
// tokens (the failover leaves Redis unanswering for a second or more: a
// shorter token could expire while a check of it is under way), each running Start with goroutines asking for tokens; the master
// is killed mid-run and the Sentinel promotes the replica. Every token
// handed out stays valid at the exchange, the managers go on refreshing
// through the new master (a generation above the failover's is stored
// there), and they end on one generation.
func TestFleetSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a Sentinel failover takes several seconds")
	}
	t.Parallel()
	s := redistest.StartSentinel(t)
	x := startFleetExchange(t, traderapitest.Options{AccessTTL: 6 * time.Second})
	f := &fleet{x: x, url: s.URL(), keyFile: writeRedisKey(t), log: &eventLog{}, writes: &writeTimes{at: map[uint64]time.Time{}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range 2 {
		m := f.newMember(t, i, nil)
		var err error
		if i == 0 {
			err = m.Login(t.Context(), testUser, testPassword, "")
		} else {
			err = m.Resume(t.Context())
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Start(ctx)
	}
	var handed, invalid atomic.Int64
	for _, m := range f.ms {
		go askTokens(ctx, x, m, &handed, &invalid)
	}
	time.Sleep(2 * time.Second)
	s.KillMaster(t)
	st, _ := f.stores[0].Status(t.Context(), keystore.Key{Environment: traderapitest.SandboxEnvironment, Username: testUser})
	var atFailover uint64
	if st != nil {
		atFailover = st.Generation
	}
	waitFor(t, 30*time.Second, "a refresh stored on the new master", func() bool {
		st, err := f.stores[1].Status(context.Background(), keystore.Key{Environment: traderapitest.SandboxEnvironment, Username: testUser})
		return err == nil && st.Generation > atFailover && f.ms[0].Status().Generation == st.Generation && f.ms[1].Status().Generation == st.Generation
	})
	cancel()
	t.Logf("Sentinel failover: %d refresh calls, %d tokens handed out, %d invalid; generation at the failover %d, now %d",
		x.Calls(traderapi.PathRefresh), handed.Load(), invalid.Load(), atFailover, f.ms[0].Status().Generation)
	if invalid.Load() != 0 {
		t.Errorf("%d tokens handed out through the failover were not valid", invalid.Load())
	}
	if _, err := f.ms[0].Token(t.Context()); err != nil && !isCtxErr(err) {
		t.Errorf("Token after the failover: %v", err)
	}
}

func isCtxErr(err error) bool { return err == context.Canceled || err == context.DeadlineExceeded }

var _ session.Store = (*redis.Store)(nil)
