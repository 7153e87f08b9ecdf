package cli

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRefreshProcessesOnRedis: sixteen `pmx-login refresh`
// processes at once, twelve rounds, on one Redis-shared session of one
// machine (one generation file). Each exits 0: none refuses the stored
// session as "older than a generation this machine has seen". Before the
// fix 1-2 of the 192 runs did: a process read the record, another stored
// a newer one and raised the generation file, and the first then compared
// its (current) record with that newer mark.
func TestConcurrentRefreshProcessesOnRedis(t *testing.T) {
	t.Parallel()
	r := newRedisAgentRig(t, time.Hour)
	r.login(t)
	for round := range 12 {
		var wg sync.WaitGroup
		errs := make(chan string, 16)
		for range 16 {
			wg.Go(func() {
				if _, errOut, err := r.pmx(t, "refresh"); err != nil {
					errs <- err.Error() + ": " + strings.TrimSpace(errOut)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("round %d: pmx-login refresh: %s", round, e)
		}
	}
}
