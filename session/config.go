package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// API is what a [Manager] needs of the exchange; [*traderapi.Client] is one.
type API interface {
	Login(ctx context.Context, req traderapi.LoginRequest) (*traderapi.LoginResponse, error)
	RefreshAccessToken(ctx context.Context, req traderapi.RefreshRequest) (*traderapi.RefreshResponse, error)
	Logout(ctx context.Context, req traderapi.LogoutRequest) error
}

// Store keeps sessions between runs; the keystore package's backends are
// stores. Every write the manager makes is a compare-and-set against the
// record it started from, and a refresh holds the store's cross-process
// lock, so that processes sharing a store refresh a session once.
type Store interface {
	Get(ctx context.Context, k keystore.Key) (*keystore.Record, error)
	CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error
	CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error
	Lock(ctx context.Context, k keystore.Key) (unlock func(), err error)
	LastUser(ctx context.Context, env string) (string, error)
}

// Credentials are what [Config.Relogin] returns to log in again.
type Credentials struct {
	Username string
	Password traderapi.Secret
	OTP      traderapi.Secret
}

// Retry bounds the retries of a transient refresh failure.
type Retry struct {
	// Attempts is the most calls one refresh makes (default 5).
	Attempts int
	// BaseDelay is the first backoff (default 250 ms); each retry doubles
	// it, with full jitter, up to MaxDelay (default 20 s).
	BaseDelay, MaxDelay time.Duration
	// MaxElapsed bounds when the last attempt of one refresh may start,
	// waits included (default 2 min): a refresh ends at most one attempt
	// (the HTTP client's timeout) after it. A Retry-After longer than what
	// is left ends the retries.
	MaxElapsed time.Duration
	// Cooldown is the wait after a failed refresh before the next one may
	// start (default 5 s); it doubles with each failure in a row, jittered
	// over its upper half, up to MaxCooldown (default 5 min), and is never
	// shorter than a Retry-After. [Manager.Refresh] does not wait for it.
	Cooldown, MaxCooldown time.Duration
}

// cooldown is the wait after the nth failed refresh in a row.
func (r Retry) cooldown(n int, err error) time.Duration {
	d := min(r.Cooldown<<min(n-1, 30), r.MaxCooldown)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	var ae *traderapi.APIError
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	return d
}

// Config configures a [Manager]. Client is required; the rest has defaults.
type Config struct {
	// Environment names the environment sessions are stored under; the
	// default is the client's environment name.
	Environment string
	// Client calls the exchange.
	Client API
	// Store keeps the session between runs; the default is an in-memory
	// store (nothing persists).
	Store Store
	// Username is the user to [Manager.Resume]; the default is the last
	// user who logged in to the environment.
	Username string
	// Now is the one clock: default the Client's own (its Now method, set
	// with [traderapi.WithClock]), else [time.Now], so that a clock is set
	// in one place. Keep its monotonic reading: a token's expiry is
	// measured on it from when its request was sent.
	Now func() time.Time
	// Margin is how long before expiry a token is refreshed (default 60 s,
	// capped at half the token's lifetime).
	Margin time.Duration
	// ClockCheck is how often the background refresher ([Manager.Start])
	// compares the wall clock with the monotonic one (default 5 s): after
	// a suspend, timers fire late and the wall clock tells the truth.
	ClockCheck time.Duration
	// Poll is how often the background refresher ([Manager.Start]) reads
	// the stored session when the store cannot say that it changed (the
	// file store, the keychain; default 2 s): a newer token, a logout or a
	// new login another process stored is taken up within it.
	Poll time.Duration
	// Jitter shortens the margin of each token by a random fraction up to
	// this (default 0.1; negative: none), so that processes sharing a
	// session do not all go stale at the same instant.
	Jitter float64
	// Retry bounds the retries of a transient refresh failure.
	Retry Retry
	// Logger receives refresh events (never a secret); default discards.
	// The messages are stable (see the README's "Logs and events"): a
	// session that ends is an ERROR, a refresh that gives up and a relogin
	// that fails a WARN, a relogin an INFO.
	Logger *slog.Logger
	// Events, when set, receives the manager's typed events (see [Event]):
	// refreshes, relogins, the end of the session, tokens taken up from
	// another process, the store's outages, lock waits and the 401s that
	// [Manager.Transport] retried. It is called outside every lock, from
	// one goroutine, never from the token hot path; a slow Observe never
	// holds up the manager (see [Observer]). The metrics package turns
	// events into OpenTelemetry instruments.
	Events Observer
	// EventBuffer is how many events may wait for a slow Events observer
	// before new ones are dropped and counted (default 1024).
	EventBuffer int
	// Generations remembers the highest generation of each stored session
	// this machine has seen; a stored record below it (written back from
	// an old copy) is refused with [ErrRolledBack]. The default remembers
	// for this manager only; package settings gives one kept in files,
	// shared by a machine's processes (as pmx-login does).
	Generations Generations
	// Relogin, when set, is called when the refresh token is rejected or
	// expired, to log in again instead of ending the session: an
	// unattended bot returns its password and a code from its generator.
	Relogin func(ctx context.Context, username string) (Credentials, error)
}

// environmenter is implemented by clients that know their environment.
type environmenter interface {
	Environment() traderapi.Environment
}

func (c *Config) setDefaults() error {
	if c.Client == nil {
		return errors.New("session: Config.Client is required")
	}
	if c.Environment == "" {
		if e, ok := c.Client.(environmenter); ok {
			c.Environment = e.Environment().Name
		}
	}
	if c.Environment == "" {
		return errors.New("session: Config.Environment is required")
	}
	if c.Store == nil {
		c.Store = keystore.NewMemory()
	}
	if c.Generations == nil {
		c.Generations = &memoryGenerations{seen: map[[2]string]uint64{}}
	}
	if c.Now == nil {
		c.Now = time.Now
		if k, ok := c.Client.(interface{ Now() time.Time }); ok {
			c.Now = k.Now
		}
	}
	if c.Margin <= 0 {
		c.Margin = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &c.Retry
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 250 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 20 * time.Second
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 2 * time.Minute
	}
	if r.Cooldown <= 0 {
		r.Cooldown = 5 * time.Second
	}
	if r.MaxCooldown <= 0 {
		r.MaxCooldown = 5 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.ClockCheck <= 0 {
		c.ClockCheck = 5 * time.Second
	}
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	return nil
}

// LogValue implements [slog.LogValuer] without the secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.Bool("otp", c.OTP != ""))
}
