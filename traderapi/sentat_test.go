package traderapi_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TestSentAtIsStampedBeforeTheRequest: login and refresh carry SentAt from
// the client's clock, read right before the request went out (before the
// exchange issued the token), and ReceivedAt after.
func TestSentAtIsStampedBeforeTheRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reads []time.Time
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		reads = append(reads, now)
		return now
	}
	s, c := setup(t, traderapi.WithClock(clock))
	lr := login(t, c)
	rr, err := c.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: lr.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reads) != 4 {
		t.Fatalf("the clock was read %d times, want 4 (sent and received, twice)", len(reads))
	}
	for i, r := range []struct{ sent, received time.Time }{{lr.SentAt, lr.ReceivedAt}, {rr.SentAt, rr.ReceivedAt}} {
		if !r.sent.Equal(reads[2*i]) || !r.received.Equal(reads[2*i+1]) {
			t.Errorf("call %d: SentAt %v ReceivedAt %v, want the clock's readings %v %v", i, r.sent, r.received, reads[2*i], reads[2*i+1])
		}
		if !strings.Contains(r.sent.String(), " m=") { // the monotonic reading prints as m=±…
			t.Errorf("call %d: SentAt lost its monotonic reading", i)
		}
	}
	if s.Calls(traderapi.PathLogin) != 1 || s.Calls(traderapi.PathRefresh) != 1 {
		t.Fatal("the exchange saw other calls")
	}
}
