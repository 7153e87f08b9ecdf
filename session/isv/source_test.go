package isv

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// eventually waits (bounded) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustToken(t *testing.T, src *Source) traderapi.Secret {
	t.Helper()
	tok, err := src.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok == "" {
		t.Fatal("Token returned an empty token")
	}
	return tok
}

func TestTokenIsFetchedOnceAndCached(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	before := time.Now()
	tok := mustToken(t, src)
	for range 5 {
		if again := mustToken(t, src); again != tok {
			t.Fatal("a fresh cached token was replaced")
		}
	}
	if n := tb.auth.Requests(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
	if got, want := src.Scope(), strings.Join(allScopes(), " "); got != want {
		t.Errorf("Scope() = %q, want %q", got, want)
	}
	if exp := src.Expiry(); exp.Before(before.Add(179*time.Second)) || exp.After(time.Now().Add(181*time.Second)) {
		t.Errorf("Expiry() = %s, want about 180 s from now", exp)
	}
	if _, err := tb.auth.VerifyAccessToken(tok.Reveal()); err != nil {
		t.Errorf("the token does not verify at its issuer: %v", err)
	}
}

// A token whose lifetime is 60 s (not the 180 s of the documents) is marked
// stale at 30 s and expired at 60 s, and refreshed at 30 s.
func TestLifetimeComesFromExpiresIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ttl, margin, wantStale time.Duration
	}{
		{ttl: 60 * time.Second, wantStale: 30 * time.Second},
		{ttl: 180 * time.Second, wantStale: 150 * time.Second},
		{ttl: 20 * time.Second, wantStale: 10 * time.Second}, // margin capped at half the lifetime
		{ttl: 3600 * time.Second, margin: 5 * time.Minute, wantStale: 55 * time.Minute},
	} {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			t.Parallel()
			tb := setup(t, traderapitest.AuthOptions{TokenTTL: tc.ttl})
			src := tb.source(t, func(c *Config) { c.Margin = tc.margin })
			ft := withFakeTimers(src)
			first := mustToken(t, src)
			ds := ft.durations()
			if len(ds) != 2 {
				t.Fatalf("timers = %v, want 2 (stale, expired)", ds)
			}
			// Less a second (a JWT's times are whole seconds, rounded down) and the round trip.
			if ds[0] > tc.wantStale-time.Second || ds[0] < tc.wantStale-2*time.Second {
				t.Errorf("stale timer = %s, want %s less a second and the round trip", ds[0], tc.wantStale)
			}
			if ds[1] > tc.ttl-time.Second || ds[1] < tc.ttl-2*time.Second {
				t.Errorf("expiry timer = %s, want %s less a second and the round trip", ds[1], tc.ttl)
			}
			if ft.advance(tc.wantStale-2*time.Second) != 0 {
				t.Fatal("a timer fired before the margin")
			}
			if mustToken(t, src) != first || tb.auth.Requests() != 1 {
				t.Fatal("refreshed before the margin")
			}
			ft.advance(tc.wantStale)
			if got := mustToken(t, src); got != first {
				t.Fatal("a stale token was not served while the refresh runs")
			}
			eventually(t, "the background refresh is published", func() bool { return src.Expiry() != time.Time{} && tb.auth.Issued() == 2 })
			eventually(t, "Token returns the new token", func() bool { return mustToken(t, src) != first })
			if n := tb.auth.Requests(); n != 2 {
				t.Fatalf("token requests = %d, want 2", n)
			}
		})
	}
}

// The same 30 s rule on real timers, shortened: a 4 s token is scheduled
// from a second before its request (its whole-second iat), so it ends 3 s
// after it and goes stale 1 s after it (the margin is capped at half the
// lifetime, 2 s; jitter only makes it later). (A 2 s token went stale at
// once: the test passed only while the refresh it set off was slower than
// its check.) Only what a slow machine cannot break is asserted: no refresh is
// seen before the stale point (a loaded machine sees it later, never
// earlier), and one comes.
func TestRealTimersMarkTokenStale(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{TokenTTL: 4 * time.Second})
	src := tb.source(t)
	before := time.Now()
	first := mustToken(t, src)
	deadline := before.Add(30 * time.Second) // a hang, not a timing claim
	for {
		tok := mustToken(t, src)
		n := tb.auth.Requests() // read before now: a refresh seen here happened before now
		now := time.Now()
		if n > 1 && now.Sub(before) < time.Second {
			t.Fatalf("refreshed %s after the first token was asked for, before lifetime − margin (1 s)", now.Sub(before))
		}
		if n == 2 && tok != first {
			return
		}
		if now.After(deadline) {
			t.Fatalf("no refresh 30 s after a 4 s token was issued (%d tokens issued)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// 10,000 goroutines asking at the margin, then at expiry: one token request
// each time.
func TestTenThousandCallersOneRequest(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	ft := withFakeTimers(src)
	first := mustToken(t, src)
	tb.auth.SetDelay(100 * time.Millisecond) // the refresh stays in flight while they pile up

	storm := func() map[traderapi.Secret]int {
		const n = 10000
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[traderapi.Secret]int{}
		start := make(chan struct{})
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				<-start
				tok, err := src.Token(t.Context())
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seen[tok]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Token: %v", err)
		}
		return seen
	}

	ft.advance(150 * time.Second) // stale: everyone gets the current token at once
	seen := storm()
	if seen[first] != 10000 {
		t.Fatalf("at the margin: %v tokens handed out, want all 10000 the current one", len(seen))
	}
	eventually(t, "the one background refresh is published", func() bool {
		tok, err := src.Token(t.Context())
		return err == nil && tok != first
	})
	if n := tb.auth.Requests(); n != 2 {
		t.Fatalf("token requests after the margin storm = %d, want 2 (first + one refresh)", n)
	}

	ft.advance(180 * time.Second) // expired: everyone waits for one refresh
	seen = storm()
	if len(seen) != 1 {
		t.Fatalf("at expiry: %d distinct tokens, want 1", len(seen))
	}
	for tok := range seen {
		if tok == first {
			t.Fatal("an expired token was handed out")
		}
	}
	if n := tb.auth.Requests(); n != 3 {
		t.Fatalf("token requests after the expiry storm = %d, want 3", n)
	}
}

func TestFailedRefreshKeepsServingTheValidToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	ft := withFakeTimers(src)
	first := mustToken(t, src)
	ft.advance(150 * time.Second)
	tb.auth.FailNext(1, 503)
	if mustToken(t, src) != first {
		t.Fatal("the stale token was not served")
	}
	eventually(t, "the failed refresh", func() bool { return tb.auth.Rejected() == 1 })
	eventually(t, "the next refresh", func() bool { return mustToken(t, src) != first })
	if tb.auth.Issued() != 2 {
		t.Fatalf("issued = %d, want 2", tb.auth.Issued())
	}

	// Once expired, a failure reaches the caller, typed.
	ft.advance(180 * time.Second)
	tb.auth.FailNext(1, 503)
	_, err := src.Token(t.Context())
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "temporarily_unavailable" || !errors.Is(err, traderapi.ErrUnavailable) {
		t.Fatalf("Token after expiry with the endpoint down = %v, want a TokenError matching ErrUnavailable", err)
	}
	if mustToken(t, src) == first {
		t.Fatal("an expired token was served")
	}
}

func TestCallerGivingUpDoesNotCancelTheRefresh(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	tb.auth.SetDelay(300 * time.Millisecond)
	src := tb.source(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token with a short deadline = %v, want DeadlineExceeded", err)
	}
	eventually(t, "the shared refresh completes anyway", func() bool { return tb.auth.Issued() == 1 })
	eventually(t, "the token is published", func() bool { return src.Expiry() != time.Time{} })
	tb.auth.SetDelay(0)
	_ = mustToken(t, src)
	if n := tb.auth.Requests(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestInvalidateDropsOnlyThatToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	first := mustToken(t, src)
	src.Invalidate("some-other-token")
	if mustToken(t, src) != first || tb.auth.Requests() != 1 {
		t.Fatal("invalidating another token dropped the current one")
	}
	src.Invalidate(first)
	second := mustToken(t, src)
	if second == first || tb.auth.Requests() != 2 {
		t.Fatal("invalidating the current token did not fetch a new one")
	}
	src.Invalidate(first) // already replaced: no effect
	if mustToken(t, src) != second || tb.auth.Requests() != 2 {
		t.Fatal("invalidating a replaced token dropped the current one")
	}
}

func TestCloseStopsTimersAndRefusesTokens(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	ft := withFakeTimers(src)
	_ = mustToken(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if ds := ft.durations(); len(ds) != 0 {
		t.Fatalf("live timers after Close: %v", ds)
	}
	if _, err := src.Token(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Token after Close = %v, want ErrClosed", err)
	}
	if n := tb.auth.Requests(); n != 1 {
		t.Fatalf("token requests = %d: a closed source asked for a token", n)
	}
	if err := src.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	key := loadKey(t, "client-pkcs1.pem")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no client", Config{Environment: "preprod", Key: key}, "ClientID"},
		{"spaces in client", Config{Environment: "preprod", Key: key, ClientID: "a b"}, "ClientID"},
		{"no key", Config{Environment: "preprod", ClientID: "c"}, "Key is nil"},
		{"short key", Config{Environment: "preprod", ClientID: "c", Key: rawKey(t, "short-1024.pem")}, "1024 bits"},
		{"unknown env", Config{Environment: "staging", Key: key, ClientID: "c"}, `unknown environment "staging"`},
		{"no env or URL", Config{Key: key, ClientID: "c"}, "Environment"},
		{"plain http", Config{AuthURL: "http://auth.example.com", Audience: "https://api", Key: key, ClientID: "c"}, "plain http"},
		{"not a URL", Config{AuthURL: "auth.example.com", Audience: "https://api", Key: key, ClientID: "c"}, "not an http(s) URL"},
		{"no audience", Config{AuthURL: "https://auth.example.com", Key: key, ClientID: "c"}, "Audience"},
		{"negative margin", Config{Environment: "prod", Key: key, ClientID: "c", Margin: -time.Second}, "negative"},
		{"long assertion", Config{Environment: "prod", Key: key, ClientID: "c", AssertionLifetime: 301 * time.Second}, "over the 5m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("New accepted a bad config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	src, err := New(Config{Environment: "preprod", ClientID: "c", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if src.TokenURL() != "https://pmx-preprod.us.auth0.com/oauth/token" || src.Audience() != "https://api.preprod.polymarketexchange.com" ||
		src.APIURL() != "https://api.preprod.polymarketexchange.com" {
		t.Fatalf("preprod defaults: %s %s %s", src.TokenURL(), src.Audience(), src.APIURL())
	}
}

// rawKey parses a PKCS#1 testdata key without LoadPrivateKey's checks.
func rawKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
