package session_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
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

// fleet is n managers of one trader session, each with a Redis store of
// its own on one Redis (as n processes would have), each running Start.
type fleet struct {
	x       *fleetExchange
	url     string
	keyFile string
	ms      []*session.Manager
	stores  []*redis.Store
	log     *eventLog
	writes  *writeTimes
}

// writeTimes records when each generation's compare-and-set succeeded.
type writeTimes struct {
	mu sync.Mutex
	at map[uint64]time.Time
}

func (w *writeTimes) get(gen uint64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.at[gen]
	return t, ok
}

// timedStore is a Redis store that notes when its writes committed; it
// still watches (Watch comes with the embedded store).
type timedStore struct {
	*redis.Store
	w *writeTimes
}

func (s timedStore) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	err := s.Store.CompareAndSwap(ctx, k, old, r)
	if err == nil {
		s.w.mu.Lock()
		s.w.at[r.Generation] = time.Now()
		s.w.mu.Unlock()
	}
	return err
}

// fleetConfig adjusts member i's configuration.
type fleetConfig func(i int, c *session.Config)

// startFleet starts a Redis and an exchange with opts, logs in through a
// first manager and resumes the session in n-1 more; all run Start.
func startFleet(t *testing.T, n int, opts traderapitest.Options, adjust fleetConfig, sopts ...redis.Option) *fleet {
	t.Helper()
	f := &fleet{x: startFleetExchange(t, opts), url: redistest.StartServer(t).URL(), keyFile: writeRedisKey(t),
		log: &eventLog{}, writes: &writeTimes{at: map[uint64]time.Time{}}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i := range n {
		m := f.newMember(t, i, adjust, sopts...)
		if i == 0 {
			if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
				t.Fatal(err)
			}
		} else if err := m.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newMember returns a manager (not started) on a store of its own.
func (f *fleet) newMember(t *testing.T, i int, adjust fleetConfig, sopts ...redis.Option) *session.Manager {
	t.Helper()
	who := "m" + strconv.Itoa(i)
	store := openFleetStore(t, f.url, f.keyFile, who, append([]redis.Option{redis.WithWatchPoll(250 * time.Millisecond)}, sopts...)...)
	cfg := session.Config{Client: f.x.client(t), Store: timedStore{store, f.writes}, Username: testUser,
		Retry: fleetRetry, Logger: f.log.logger(who)}
	if adjust != nil {
		adjust(i, &cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	f.ms = append(f.ms, m)
	f.stores = append(f.stores, store)
	return m
}

// waitAll waits until cond holds for every manager's Token answer and
// returns how long that took.
func (f *fleet) waitAll(t *testing.T, what string, cond func(tok traderapi.Secret, err error) bool) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, 20*time.Second, what, func() bool {
		for _, m := range f.ms {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			tok, err := m.Token(ctx)
			cancel()
			if !cond(tok, err) {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// propagation returns, for each generation some manager wrote and every
// other manager adopted, the time from the write's commit to the last
// adoption.
func (f *fleet) propagation() []time.Duration {
	last := map[string]map[string]time.Time{} // generation -> who -> adopted at
	for _, msg := range []string{"took up the stored session another process wrote", "adopted the session another process refreshed", "another process stored a newer session; adopting it"} {
		for _, e := range f.log.find(msg) {
			g := e.attrs["generation"]
			if last[g] == nil {
				last[g] = map[string]time.Time{}
			}
			if at, ok := last[g][e.who]; !ok || e.at.Before(at) {
				last[g][e.who] = e.at
			}
		}
	}
	var out []time.Duration
	for g, by := range last {
		gen, _ := strconv.ParseUint(g, 10, 64)
		wrote, ok := f.writes.get(gen)
		if !ok || len(by) < len(f.ms)-1 {
			continue
		}
		var latest time.Time
		for _, at := range by {
			latest = later(latest, at)
		}
		out = append(out, latest.Sub(wrote))
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestFleetRefreshesOncePerPeriod: three managers on one Redis, each
// running Start with 2 s access tokens and many goroutines asking for
// tokens, make about one refresh call per refresh period for the whole
// group (three independent managers would make three), every token they
// hand out is valid at the exchange, and a new token reaches every other
// manager through Watch within milliseconds of its write (p50/p99
// logged).
func TestFleetRefreshesOncePerPeriod(t *testing.T) {
	t.Parallel()
	const n, ttl, run = 3, 2 * time.Second, 10 * time.Second
	f := startFleet(t, n, traderapitest.Options{AccessTTL: ttl}, nil)
	var handed, invalid atomic.Int64
	ctx, stop := context.WithTimeout(t.Context(), run)
	defer stop()
	var wg sync.WaitGroup
	for _, m := range f.ms {
		for range 4 {
			wg.Go(func() { askTokens(ctx, f.x, m, &handed, &invalid) })
		}
	}
	wg.Wait()
	refreshes := f.x.Calls(traderapi.PathRefresh)
	// A 2 s token goes stale after half its life (the margin's cap), less
	// up to 10% jitter of the margin: one refresh every 0.9-1 s.
	lo, hi := int(run/(ttl/2))-3, int(run*10/(ttl*9/2))+2
	lat := f.propagation()
	t.Logf("%d managers, %s tokens, %s: %d refresh calls (expected %d-%d for one per period), %d tokens handed out, %d invalid at the exchange; propagation over %d refreshes: p50 %s, p99 %s",
		n, ttl, run, refreshes, lo, hi, handed.Load(), invalid.Load(), len(lat), percentile(lat, 50), percentile(lat, 99))
	if refreshes < lo || refreshes > hi {
		t.Errorf("%d refresh calls in %s, want %d-%d (about one per refresh period)", refreshes, run, lo, hi)
	}
	if invalid.Load() != 0 {
		t.Errorf("%d of %d tokens handed out were not valid at the exchange", invalid.Load(), handed.Load())
	}
	if len(lat) < lo/2 {
		t.Errorf("only %d of %d refreshes reached every manager", len(lat), refreshes)
	}
	if n := f.x.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login calls = %d, want 1", n)
	}
	scanRedis(t, f.url, append(f.secrets(t), f.storeTOTP(t)))
}

// storeTOTP turns MFA on at the exchange and stores its TOTP secret in
// Redis as the CLI's relogin item; it returns the secret, which the scan
// must not find.
func (f *fleet) storeTOTP(t *testing.T) string {
	t.Helper()
	url, err := f.x.EnableMFA(testUser)
	if err != nil {
		t.Fatal(err)
	}
	secret := totpSecret(t, url)
	k := keystore.Key{Environment: traderapitest.SandboxEnvironment, Username: testUser, Item: keystore.ItemTOTP}
	rec := &keystore.Record{Environment: k.Environment, Username: testUser, Generation: 1, OTPAuthURL: url}
	if err := f.stores[0].CompareAndSwap(t.Context(), k, nil, rec); err != nil {
		t.Fatal(err)
	}
	return secret
}

// askTokens asks m for tokens until ctx ends, checking each one at the
// exchange.
func askTokens(ctx context.Context, x *fleetExchange, m *session.Manager, handed, invalid *atomic.Int64) {
	for ctx.Err() == nil {
		tok, err := m.Token(ctx)
		if err != nil {
			if ctx.Err() == nil {
				invalid.Add(1)
			}
			return
		}
		handed.Add(1)
		if _, err := x.Authenticate(tok.Reveal()); err != nil {
			invalid.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// secrets are the values that must not be readable in Redis: the
// password and every token a manager holds or the exchange issued.
func (f *fleet) secrets(t *testing.T) []string {
	return append(requestSecrets(f.x.Requests()), f.heldTokens(t)...)
}

// heldTokens are the access tokens the managers hold.
func (f *fleet) heldTokens(t *testing.T) []string {
	var out []string
	for _, m := range f.ms {
		if info, err := m.TokenInfo(t.Context()); err == nil {
			out = append(out, info.Token.Reveal())
		}
	}
	return out
}

// TestFleetLogoutEndsEveryManager: a logout from a separate manager (the
// CLI's `pmx-login logout`) ends every running manager's session within a
// second: Token returns ErrNotLoggedIn.
func TestFleetLogoutEndsEveryManager(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 3, traderapitest.Options{}, nil)
	cli := f.newMember(t, 9, nil)
	f.ms = f.ms[:3]
	if err := cli.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cli.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	took := f.waitAll(t, "every manager logged out", func(_ traderapi.Secret, err error) bool { return errors.Is(err, session.ErrNotLoggedIn) })
	t.Logf("every manager had ErrNotLoggedIn %s after the CLI's logout returned (%s after it began)", took, time.Since(start))
	if took > time.Second {
		t.Errorf("the fleet learned of the logout after %s, want within a second", took)
	}
}

// TestFleetExpiredThenLoginBringsItBack: the exchange rejects the refresh
// token and nobody can log in again: every manager gets ErrSessionExpired
// promptly (the first to refresh leaves a tombstone); a human's login
// through another manager then brings every one of them back, without a
// restart, on the new session.
func TestFleetExpiredThenLoginBringsItBack(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 3, traderapitest.Options{AccessTTL: 2 * time.Second}, nil)
	f.x.RevokeRefreshTokens(testUser)
	took := f.waitAll(t, "every manager expired", func(_ traderapi.Secret, err error) bool { return errors.Is(err, session.ErrSessionExpired) })
	t.Logf("every manager had ErrSessionExpired %s after the revoke (the access tokens lived 2 s)", took)
	if n := f.x.Calls(traderapi.PathRefresh); n != 1 {
		t.Errorf("refresh calls = %d, want 1 (the others learn of the end from the store); log:\n%s", n, f.log)
	}
	human := f.newMember(t, 9, nil)
	f.ms = f.ms[:3]
	if err := human.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	want, _ := human.Token(t.Context())
	took = f.waitAll(t, "every manager back on the new session", func(tok traderapi.Secret, err error) bool { return err == nil && tok == want })
	t.Logf("every manager was back %s after the new login", took)
}

// TestFleetReloginOnlyLockHolder: with Relogin set on every manager and
// the refresh token rejected, exactly one manager (the lock holder) logs
// in again, and the others adopt its session.
func TestFleetReloginOnlyLockHolder(t *testing.T) {
	t.Parallel()
	var relogins atomic.Int64
	f := startFleet(t, 3, traderapitest.Options{AccessTTL: 2 * time.Second}, func(_ int, c *session.Config) {
		c.Relogin = func(context.Context, string) (session.Credentials, error) {
			relogins.Add(1)
			return session.Credentials{Username: testUser, Password: testPassword}, nil
		}
	})
	old, _ := f.ms[0].Token(t.Context())
	f.x.RevokeRefreshTokens(testUser)
	var fresh traderapi.Secret
	f.waitAll(t, "every manager on a new login", func(tok traderapi.Secret, err error) bool {
		if err != nil || tok == old || f.x.Calls(traderapi.PathLogin) < 2 {
			return false
		}
		_, aerr := f.x.Authenticate(tok.Reveal())
		return aerr == nil
	})
	for _, m := range f.ms {
		tok, _ := m.Token(t.Context())
		if fresh == "" {
			fresh = tok
		}
		if tok != fresh {
			t.Logf("managers hold different tokens (one refreshed meanwhile)")
		}
	}
	if n, l := relogins.Load(), f.x.Calls(traderapi.PathLogin); n != 1 || l != 2 {
		t.Errorf("Relogin called %d times, login calls %d; want 1 and 2 (one relogin for the fleet)", n, l)
	}
}

// TestFleetLockHeldUntilWritten: a manager waiting on the store's lock
// while another refreshes gets the lock only after the holder's new record
// is stored, and adopts it without a call of its own. (Before, the lock
// was released when the refresh call returned, before the write: the
// waiter re-read the old record and refreshed a second time. The holder's
// store is made slow to write, to open that window wide.)
func TestFleetLockHeldUntilWritten(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 0, traderapitest.Options{}, nil)
	a := f.newMember(t, 0, func(_ int, c *session.Config) { c.Store = slowWrites{c.Store.(timedStore), 400 * time.Millisecond} })
	b := f.newMember(t, 1, nil)
	if err := a.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	hold := f.x.Hold(traderapi.PathRefresh)
	errs := make(chan error, 2)
	go func() { errs <- a.Refresh(t.Context()) }()
	<-hold.Arrived()
	go func() { errs <- b.Refresh(t.Context()) }()
	hold.Release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ta, _ := a.Token(t.Context())
	tb, _ := b.Token(t.Context())
	if n := f.x.Calls(traderapi.PathRefresh); n != 1 || ta != tb {
		t.Fatalf("refresh calls = %d, same token %v; want 1 call, whose token both hold", n, ta == tb)
	}
}

// slowWrites is a store whose compare-and-set waits d before writing.
type slowWrites struct {
	timedStore
	d time.Duration
}

func (s slowWrites) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	time.Sleep(s.d)
	return s.timedStore.CompareAndSwap(ctx, k, old, r)
}
