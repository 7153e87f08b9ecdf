package mfa

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// fakeClock is a clock whose sleep moves it forward instead of waiting.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	extra  time.Duration // added to every sleep: oversleeping
	sleeps []time.Duration
}

func newFakeClock(unix int64) *fakeClock { return &fakeClock{t: time.Unix(unix, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d + c.extra)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newTestGenerator returns a Generator for enrollment e on a fake clock at unix.
func newTestGenerator(t *testing.T, e *Enrollment, unix int64) (*Generator, *fakeClock) {
	t.Helper()
	clock := newFakeClock(unix)
	g, err := NewGenerator(e, WithClock(clock.Now), WithSleep(clock.Sleep))
	if err != nil {
		t.Fatalf("NewGenerator: %v", err)
	}
	return g, clock
}

func enrollmentOf(seed string, alg otp.Algorithm, digits otp.Digits, period uint) *Enrollment {
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(seed))
	return &Enrollment{Secret: secretOf(b32), Algorithm: alg, Digits: digits, Period: period}
}

// TestRFC6238Vectors checks the test vectors of RFC 6238 appendix B, through
// Code on a fake clock (a first call returns the current window's code) and
// through At.
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	seeds := map[otp.Algorithm]string{
		otp.AlgorithmSHA1:   "12345678901234567890",
		otp.AlgorithmSHA256: "12345678901234567890123456789012",
		otp.AlgorithmSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix int64
		alg  otp.Algorithm
		want string
	}{
		{59, otp.AlgorithmSHA1, "94287082"}, {59, otp.AlgorithmSHA256, "46119246"}, {59, otp.AlgorithmSHA512, "90693936"},
		{1111111109, otp.AlgorithmSHA1, "07081804"}, {1111111109, otp.AlgorithmSHA256, "68084774"}, {1111111109, otp.AlgorithmSHA512, "25091201"},
		{1111111111, otp.AlgorithmSHA1, "14050471"}, {1111111111, otp.AlgorithmSHA256, "67062674"}, {1111111111, otp.AlgorithmSHA512, "99943326"},
		{1234567890, otp.AlgorithmSHA1, "89005924"}, {1234567890, otp.AlgorithmSHA256, "91819424"}, {1234567890, otp.AlgorithmSHA512, "93441116"},
		{2000000000, otp.AlgorithmSHA1, "69279037"}, {2000000000, otp.AlgorithmSHA256, "90698825"}, {2000000000, otp.AlgorithmSHA512, "38618901"},
		{20000000000, otp.AlgorithmSHA1, "65353130"}, {20000000000, otp.AlgorithmSHA256, "77737706"}, {20000000000, otp.AlgorithmSHA512, "47863826"},
	}
	for _, v := range vectors {
		e := enrollmentOf(seeds[v.alg], v.alg, otp.DigitsEight, 30)
		g, _ := newTestGenerator(t, e, v.unix)
		got, err := g.Code(t.Context())
		if err != nil || got.Reveal() != v.want {
			t.Errorf("%s at %d: Code = %q, %v; want %s", algorithmName(v.alg), v.unix, got.Reveal(), err, v.want)
		}
		if at, err := g.At(time.Unix(v.unix, 0)); err != nil || at.Reveal() != v.want {
			t.Errorf("%s at %d: At = %q, %v; want %s", algorithmName(v.alg), v.unix, at.Reveal(), err, v.want)
		}
	}
}

// TestGeneratorWaitsForNextWindow proves that a second code within one
// window waits exactly until the next window starts and is that window's.
func TestGeneratorWaitsForNextWindow(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	g, clock := newTestGenerator(t, e, 1111111109) // 29 s into its window
	first, err := g.Code(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 0 {
		t.Fatalf("first code slept %v; want no wait", s)
	}
	second, err := g.Code(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != time.Second {
		t.Fatalf("second code slept %v; want one wait of 1s (to the next window)", s)
	}
	third, err := g.Code(t.Context()) // at the very start of a window: wait a whole one
	if err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 2 || s[1] != 30*time.Second {
		t.Fatalf("third code slept %v; want a second wait of 30s", s)
	}
	want := map[string]int64{first.Reveal(): 1111111109, second.Reveal(): 1111111110, third.Reveal(): 1111111140}
	if len(want) != 3 {
		t.Fatalf("codes %s %s %s are not distinct", first.Reveal(), second.Reveal(), third.Reveal())
	}
	for code, unix := range want {
		if at, _ := g.At(time.Unix(unix, 0)); at.Reveal() != code {
			t.Errorf("code %s is not the code of %d (%s)", code, unix, at.Reveal())
		}
	}
	// Later, in a fresh window, no wait.
	clock.Set(time.Unix(1111111200, 0))
	if _, err := g.Code(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 2 {
		t.Errorf("a code in a new window slept %v; want no new wait", s[2:])
	}
}

func TestGeneratorClockGoingBackNeverRepeats(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	g, clock := newTestGenerator(t, e, 1000*30+10)
	first, _ := g.Code(t.Context())
	clock.Set(time.Unix(999*30+5, 0)) // the clock is stepped back a window and more
	second, err := g.Code(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 55*time.Second {
		t.Errorf("after the clock went back, slept %v; want 55s (to the window after the one handed out)", s)
	}
	if want, _ := g.At(time.Unix(1001*30, 0)); second != want || second == first {
		t.Errorf("second code is not window 1001's")
	}
}

func TestGeneratorOversleepTakesCurrentWindow(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	g, clock := newTestGenerator(t, e, 1000*30)
	clock.extra = 65 * time.Second // the machine was suspended while waiting
	if _, err := g.Code(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := g.Code(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	if want, _ := g.At(now); got != want {
		t.Errorf("after oversleeping to %d, Code is not the current window's", now.Unix())
	}
}

func TestGeneratorConcurrentCallersGetDistinctWindows(t *testing.T) {
	t.Parallel()
	e := enrollmentOf("12345678901234567890", otp.AlgorithmSHA1, otp.DigitsEight, 30)
	g, _ := newTestGenerator(t, e, 2000000000)
	const n = 8
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := g.Code(t.Context())
			if err != nil {
				t.Error(err)
			}
			codes[i] = c.Reveal()
		})
	}
	wg.Wait()
	// Map each code back to its window; the windows must be distinct.
	windows := map[string]int64{}
	for w := int64(2000000000 / 30); w < 2000000000/30+40*n; w++ {
		c, _ := g.At(time.Unix(w*30, 0))
		windows[c.Reveal()] = w
	}
	seen := map[int64]bool{}
	for _, c := range codes {
		w, ok := windows[c]
		if !ok {
			t.Fatalf("code %s is of no window near the start", c)
		}
		if seen[w] {
			t.Errorf("window %d handed out twice", w)
		}
		seen[w] = true
	}
}

func TestGeneratorWaitHonoursContext(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	frozen := time.Unix(1000*30, 0) // 30 s until the next window
	g, err := NewGenerator(e, WithClock(func() time.Time { return frozen }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Code(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = g.Code(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Code with a 50ms deadline = %v; want context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "waiting 30s for the next TOTP window") {
		t.Errorf("error = %q; want it to say what it was waiting for", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Code returned after %s; want about 50ms", d)
	}
	// The window the cancelled caller had reserved is given back: the next
	// caller waits for the next window, not the one after.
	clock, failNext := frozen, false
	g2, _ := NewGenerator(e, WithClock(func() time.Time { return clock }),
		WithSleep(func(ctx context.Context, d time.Duration) error {
			if failNext {
				failNext = false
				return context.Canceled // the caller gives up while waiting
			}
			clock = clock.Add(d)
			return nil
		}))
	_, _ = g2.Code(t.Context())
	failNext = true
	if _, err := g2.Code(t.Context()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Code whose wait was cut short = %v; want context.Canceled", err)
	}
	_, _ = g2.Code(t.Context())
	if got := clock.Sub(frozen); got != 30*time.Second {
		t.Errorf("after a caller gave up, the next code waited %s; want 30s", got)
	}

	cancelled, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	if _, err := g.Code(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Code with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestNewGeneratorRejects(t *testing.T) {
	t.Parallel()
	ok, _ := ParseURL(testURL)
	with := func(f func(e *Enrollment)) *Enrollment { c := *ok; f(&c); return &c }
	tests := []struct {
		name    string
		e       *Enrollment
		opts    []GeneratorOption
		wantErr string
	}{
		{"nil", nil, nil, "no enrollment"},
		{"no secret", with(func(e *Enrollment) { e.Secret = "" }), nil, "has no secret"},
		{"bad secret", with(func(e *Enrollment) { e.Secret = "ABC1" }), nil, "not valid base32"},
		{"period 0", with(func(e *Enrollment) { e.Period = 0 }), nil, "period is 0"},
		{"7 digits", with(func(e *Enrollment) { e.Digits = 7 }), nil, "7 digits"},
		{"md5", with(func(e *Enrollment) { e.Algorithm = otp.AlgorithmMD5 }), nil, "not supported"},
		{"bad algorithm", with(func(e *Enrollment) { e.Algorithm = 42 }), nil, "Algorithm(42) is not supported"},
		{"nil clock", ok, []GeneratorOption{WithClock(nil)}, "nil clock"},
		{"nil sleep", ok, []GeneratorOption{WithSleep(nil)}, "nil sleep"},
	}
	for _, tt := range tests {
		g, err := NewGenerator(tt.e, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: NewGenerator = %v, %v; want an error containing %q", tt.name, g, err, tt.wantErr)
		}
	}
	var zero Generator
	if _, err := zero.Code(t.Context()); err == nil || !strings.Contains(err.Error(), "NewGenerator") {
		t.Errorf("zero Generator: Code error = %v; want one naming NewGenerator", err)
	}
	g, _ := NewGenerator(ok, WithClock(func() time.Time { return time.Unix(-1, 0) }))
	if _, err := g.Code(t.Context()); err == nil || !strings.Contains(err.Error(), "before 1970") {
		t.Errorf("Code before 1970: error = %v; want one saying so", err)
	}
}

func TestGeneratorPrintsAndLogsWithoutSecret(t *testing.T) {
	t.Parallel()
	g, err := GeneratorFromURL(secretOf(testURL))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out, fmt.Sprintf(verb, g), fmt.Sprintf(verb, *g), fmt.Sprintf(verb, struct{ G *Generator }{g}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("bot", "generator", g)
	out = append(out, logs.String())
	for _, s := range out {
		assertNoSecret(t, s, testSecret)
	}
	if !strings.Contains(out[0], `Account: "alice"`) || !strings.Contains(logs.String(), `"secret":"[REDACTED]"`) {
		t.Errorf("got %q and %q; want the account and a redacted secret", out[0], logs.String())
	}
	if g.Period() != 30*time.Second {
		t.Errorf("Period = %s, want 30s", g.Period())
	}
	if _, err := GeneratorFromURL("otpauth://hotp/x?secret=" + testSecret); err == nil {
		t.Error("GeneratorFromURL(hotp) succeeded")
	}
}
