package isv

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Fleet timing: 3 s tokens (the AuthServer's expires_in is whole seconds,
// and its exp is truncated to the second, so up to 1 s early), refreshed
// 1.2 s before expiry (jittered by up to 10 %).
const (
	fleetTTL    = 3 * time.Second
	fleetMargin = 1200 * time.Millisecond
)

// fleetBed is a testbed with short-lived tokens.
func fleetBed(t testing.TB) *testbed {
	return setup(t, traderapitest.AuthOptions{TokenTTL: fleetTTL})
}

// sharedSource returns a Source of tb sharing store, logging to log.
func (tb *testbed) sharedSource(t *testing.T, store Store, log *helperproc.Buffer) *Source {
	t.Helper()
	return tb.source(t, func(c *Config) {
		c.Store, c.Margin = store, fleetMargin
		if log != nil {
			c.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	})
}

// driveResult counts what a Source's users saw.
type driveResult struct {
	tokens, calls, rejected, errs atomic.Int64
	mu                            sync.Mutex
	seen                          map[string]bool // every token handed out
	firstErr                      error
}

func (r *driveResult) fail(err error) {
	r.errs.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func (r *driveResult) String() string {
	return fmt.Sprintf("tokens=%d calls=%d rejected=%d errors=%d", r.tokens.Load(), r.calls.Load(), r.rejected.Load(), r.errs.Load())
}

// drive runs workers goroutines on src until ctx ends: each takes a token
// every 2 ms and, every 25 ms, calls the API with it (GET /v1/whoami),
// counting the calls the API refused.
func drive(ctx context.Context, src *Source, apiURL string, workers int, res *driveResult) {
	res.mu.Lock()
	if res.seen == nil {
		res.seen = map[string]bool{}
	}
	res.mu.Unlock()
	hc := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			lastCall := time.Time{}
			for ctx.Err() == nil {
				tok, err := src.Token(ctx)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					res.fail(err)
				default:
					res.tokens.Add(1)
					res.mu.Lock()
					res.seen[tok.Reveal()] = true
					res.mu.Unlock()
					if time.Since(lastCall) > 25*time.Millisecond {
						lastCall = time.Now()
						callAPI(ctx, hc, apiURL, tok.Reveal(), res)
					}
				}
				sleepCtx(ctx, 2*time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// callAPI sends one authorized API call and counts its answer.
func callAPI(ctx context.Context, hc *http.Client, apiURL, tok string, res *driveResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/v1/whoami", nil)
	if err != nil {
		res.fail(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			res.fail(err)
		}
		return
	}
	_ = resp.Body.Close()
	res.calls.Add(1)
	if resp.StatusCode != http.StatusOK {
		res.rejected.Add(1)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// maxRequests is what a fleet may spend over elapsed: a lone Source's
// count (baseline) plus one request of slack per lifetime for a lost race
// on a loaded machine, plus one.
func maxRequests(baseline int64, elapsed time.Duration) int64 {
	return baseline + int64(math.Ceil(float64(elapsed)/float64(fleetTTL))) + 1
}

// perLifetime is n requests over elapsed, per token lifetime.
func perLifetime(n int64, elapsed time.Duration) float64 {
	return float64(n) / (float64(elapsed) / float64(fleetTTL))
}

// baseline runs one Source without a store against its own testbed for d
// and returns its token requests: what one holder needs.
func baseline(t *testing.T, d time.Duration) int64 {
	t.Helper()
	tb := fleetBed(t)
	src := tb.source(t, func(c *Config) { c.Margin = fleetMargin })
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var res driveResult
	drive(ctx, src, tb.apiURL, 2, &res)
	return tb.auth.Requests()
}

// newKeyFile writes a Redis encryption key file.
func newKeyFile(t testing.TB) (string, *redis.EncryptionKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "redis.key")
	k, err := redis.WriteKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, k
}
