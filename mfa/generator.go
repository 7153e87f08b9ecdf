package mfa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Generator computes TOTP codes from a stored secret, for unattended bots.
// The exchange accepts a code once per time window, so a Generator never
// hands out a window it has handed out before: asked twice within one
// window, it waits for the next (honouring the context). Concurrent callers
// each get a window of their own. It is safe for concurrent use; create it
// with [NewGenerator].
type Generator struct {
	secret traderapi.Secret
	opts   totp.ValidateOpts
	issuer string
	acct   string
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	// state is behind a pointer so that the value-receiver printing methods
	// copy no lock.
	state *windowState
}

// windowState remembers the last time window handed out.
type windowState struct {
	mu   sync.Mutex
	used bool  // a window has been handed out
	last int64 // the last window handed out (or reserved by a waiting caller)
}

// GeneratorOption configures a [Generator].
type GeneratorOption func(*Generator) error

// WithClock sets the clock the Generator reads; default [time.Now].
func WithClock(now func() time.Time) GeneratorOption {
	return func(g *Generator) error {
		if now == nil {
			return errors.New("mfa: WithClock: nil clock")
		}
		g.now = now
		return nil
	}
}

// WithSleep sets how the Generator waits for the next window; default a
// timer that gives up with ctx.Err() when ctx ends. Tests pass one that
// advances a fake clock.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) GeneratorOption {
	return func(g *Generator) error {
		if sleep == nil {
			return errors.New("mfa: WithSleep: nil sleep function")
		}
		g.sleep = sleep
		return nil
	}
}

// NewGenerator returns a Generator for the codes of e (its secret, period,
// digits and algorithm).
func NewGenerator(e *Enrollment, opts ...GeneratorOption) (*Generator, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	g := &Generator{
		secret: e.Secret,
		opts:   totp.ValidateOpts{Period: e.Period, Digits: e.Digits, Algorithm: e.Algorithm},
		issuer: e.Issuer,
		acct:   e.Account,
		now:    time.Now,
		sleep:  sleepContext,
		state:  &windowState{},
	}
	for _, o := range opts {
		if err := o(g); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// GeneratorFromURL is [ParseURL] followed by [NewGenerator]: a Generator for
// an otpauth:// URL kept in the keystore.
func GeneratorFromURL(u traderapi.Secret, opts ...GeneratorOption) (*Generator, error) {
	e, err := ParseURL(u.Reveal())
	if err != nil {
		return nil, err
	}
	return NewGenerator(e, opts...)
}

// Code returns the code of the current time window, or, if that window was
// already handed out, waits for the first window not yet handed out and
// returns its code. It returns ctx's error if ctx ends while it waits.
func (g *Generator) Code(ctx context.Context) (traderapi.Secret, error) {
	if err := g.ready(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	step, err := g.reserve()
	if err != nil {
		return "", err
	}
	for {
		now := g.now()
		cur, err := g.window(now)
		if err != nil {
			return "", err
		}
		switch {
		case cur == step:
			return g.codeAt(step)
		case cur > step:
			// Overslept (a suspended machine, a clock jump): the reserved
			// window is over, so take a fresh one.
			if step, err = g.reserve(); err != nil {
				return "", err
			}
			continue
		}
		wait := g.start(step).Sub(now)
		if err := g.sleep(ctx, wait); err != nil {
			g.release(step)
			return "", fmt.Errorf("mfa: waiting %s for the next TOTP window (the current code was already used): %w", wait.Round(time.Second), err)
		}
	}
}

// At returns the code of the window holding t, without the once-only
// bookkeeping of [Generator.Code]: for tests and for showing a user the
// current code.
func (g *Generator) At(t time.Time) (traderapi.Secret, error) {
	if err := g.ready(); err != nil {
		return "", err
	}
	step, err := g.window(t)
	if err != nil {
		return "", err
	}
	return g.codeAt(step)
}

// Period returns the length of a time window.
func (g *Generator) Period() time.Duration { return time.Duration(g.opts.Period) * time.Second }

// ready rejects a Generator not made by [NewGenerator].
func (g *Generator) ready() error {
	if g == nil || g.state == nil || g.opts.Period == 0 || g.now == nil || g.sleep == nil {
		return errors.New("mfa: a Generator must be created with NewGenerator")
	}
	return nil
}

// reserve claims the window to hand out next: the current one, or the one
// after the last handed out if that is later.
func (g *Generator) reserve() (int64, error) {
	s := g.state
	s.mu.Lock()
	defer s.mu.Unlock()
	step, err := g.window(g.now())
	if err != nil {
		return 0, err
	}
	if s.used && step <= s.last {
		step = s.last + 1
	}
	s.used, s.last = true, step
	return step, nil
}

// release gives back a reserved window that was not handed out (its caller
// gave up waiting), if no later one has been reserved since.
func (g *Generator) release(step int64) {
	s := g.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == step {
		s.last = step - 1
	}
}

// window returns the number of the time window holding t.
func (g *Generator) window(t time.Time) (int64, error) {
	sec := t.Unix()
	if sec < 0 {
		return 0, fmt.Errorf("mfa: the clock reads %s, before 1970: TOTP codes cannot be computed", t.UTC().Format(time.RFC3339))
	}
	return sec / int64(g.opts.Period), nil
}

// start returns when window step begins.
func (g *Generator) start(step int64) time.Time {
	return time.Unix(step*int64(g.opts.Period), 0)
}

func (g *Generator) codeAt(step int64) (traderapi.Secret, error) {
	code, err := totp.GenerateCodeCustom(g.secret.Reveal(), g.start(step), g.opts)
	if err != nil {
		// The error of pquerna/otp is a fixed text; the secret is not in it.
		return "", fmt.Errorf("mfa: computing the TOTP code: %w", err)
	}
	return traderapi.Secret(code), nil
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// String describes g without its secret.
func (g Generator) String() string {
	return fmt.Sprintf("mfa.Generator{Issuer: %q, Account: %q, Period: %ds, Digits: %d, Algorithm: %s, Secret: %s}",
		g.issuer, g.acct, g.opts.Period, int(g.opts.Digits), algorithmName(g.opts.Algorithm), g.secret.String())
}

// GoString is [Generator.String], for %#v.
func (g Generator) GoString() string { return g.String() }

// Format implements [fmt.Formatter] so that no verb prints the secret.
func (g Generator) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(g.String())) }

// LogValue implements [slog.LogValuer], without the secret.
func (g Generator) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", g.issuer),
		slog.String("account", g.acct),
		slog.Uint64("period", uint64(g.opts.Period)),
		slog.Int("digits", int(g.opts.Digits)),
		slog.String("algorithm", algorithmName(g.opts.Algorithm)),
		slog.String("secret", g.secret.String()),
	)
}
