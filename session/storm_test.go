package session_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// stormRig is a logged-in manager whose client's clock can be set back, so
// that a refresh publishes a token that expired on arrival.
type stormRig struct {
	srv  *traderapitest.Server
	m    *session.Manager
	skew atomic.Int64
}

func newStormRig(tb testing.TB) *stormRig {
	tb.Helper()
	r := &stormRig{srv: traderapitest.NewServer(traderapitest.Options{})}
	tb.Cleanup(r.srv.Close)
	if err := r.srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		tb.Fatal(err)
	}
	clock := func() time.Time { return time.Now().Add(time.Duration(r.skew.Load())) }
	client, err := traderapi.NewClient(r.srv.Environment(), traderapi.WithClock(clock))
	if err != nil {
		tb.Fatal(err)
	}
	if r.m, err = session.New(session.Config{Client: client, Now: clock}); err != nil {
		tb.Fatal(err)
	}
	if err := r.m.Login(context.Background(), testUser, testPassword, ""); err != nil {
		tb.Fatal(err)
	}
	return r
}

// expire refreshes the token (the forced refresh must reach the exchange)
// and then marks the new token expired, as a 401 for it would.
func (r *stormRig) expire(tb testing.TB) {
	tb.Helper()
	before := r.srv.Calls(traderapi.PathRefresh)
	if err := r.m.Refresh(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if r.srv.Calls(traderapi.PathRefresh) == before {
		tb.Fatalf("Refresh returned without refreshing (refresh calls %d, then %d)", before, r.srv.Calls(traderapi.PathRefresh))
	}
	session.ExpireNow(r.m)
	if r.m.Status().LoggedIn {
		tb.Fatalf("the token did not expire")
	}
}

// storm has callers goroutines ask for a token at once, released together
// when the returned function is called; it returns when all have one.
func (r *stormRig) storm(tb testing.TB, callers int) (release func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			<-start
			if tok, err := r.m.Token(context.Background()); err != nil || tok == "" {
				tb.Errorf("Token in the storm: %v", err)
			}
		})
	}
	return func() { close(start); wg.Wait() }
}

// TestForcedRefreshAfterStorms: a storm of callers on an expired token
// makes one refresh call, and a forced Refresh right after a storm always
// reaches the exchange (it must not join a leftover flight that found the
// token fresh and made no call).
func TestForcedRefreshAfterStorms(t *testing.T) {
	t.Parallel()
	r := newStormRig(t)
	for i := range 200 {
		r.expire(t)
		before := r.srv.Calls(traderapi.PathRefresh)
		r.storm(t, 200)()
		if n := r.srv.Calls(traderapi.PathRefresh) - before; n != 1 {
			t.Fatalf("storm %d: %d refresh calls, want 1", i, n)
		}
	}
}

// BenchmarkRefreshStorm: each op, the token has expired and a number of
// goroutines ask for one at once; refreshes/op is how many refresh calls
// reached the exchange (the goal is 1).
func BenchmarkRefreshStorm(b *testing.B) {
	for _, callers := range []int{100, 10000} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			r := newStormRig(b)
			refreshes := 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				r.expire(b)
				release := r.storm(b, callers)
				before := r.srv.Calls(traderapi.PathRefresh)
				b.StartTimer()
				release()
				refreshes += r.srv.Calls(traderapi.PathRefresh) - before
			}
			b.ReportMetric(float64(refreshes)/float64(b.N), "refreshes/op")
		})
	}
}
