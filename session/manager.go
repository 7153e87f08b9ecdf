package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/internal/eventq"
	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// closeWait bounds how long Close waits for a refresh in flight to stop.
const closeWait = 2 * time.Second

// Manager owns one trader's session in one environment. It is safe for
// concurrent use. Create it with [New]; release it with [Manager.Close].
type Manager struct {
	cfg   Config
	raw   Store // cfg.Store before the back-off and the rollback guard: the one to watch
	cache *tokencache.Cache[sess]
	bg    background
	// storeDown: the store was unavailable when the current refresh
	// flight took its lock (flights run one at a time).
	storeDown atomic.Bool
	// offset is the exchange's clock minus Config.Now, in nanoseconds, as
	// last measured (measured: at all); see clock.go.
	offset   atomic.Int64
	measured atomic.Bool
	// events delivers to Config.Events (nil: no observer); downSince is
	// when the store went unavailable (UnixNano, Config.Now).
	events    *eventq.Queue[Event]
	downSince atomic.Int64
}

// New returns a Manager with no session; call [Manager.Login] or
// [Manager.Resume].
func New(cfg Config) (*Manager, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, raw: cfg.Store, bg: newBackground(), events: newEventQueue(cfg.Events, cfg.EventBuffer)}
	backoff := backoffStore{Store: cfg.Store, now: cfg.Now, state: m.storeState, b: &storeBackoff{}}
	m.cfg.Store = guarded{Store: backoff, env: cfg.Environment, seen: cfg.Generations}
	m.cache = tokencache.New(tokencache.Config[sess]{
		Fetch:   m.fetch,
		Commit:  m.commit,
		Lock:    m.lock,
		Now:     cfg.Now,
		Margin:  cfg.Margin,
		Jitter:  cfg.Jitter,
		Budget:  cfg.Retry.MaxElapsed + 5*time.Second,
		Backoff: cfg.Retry.cooldown,
		Failed: func(err error, n int, next time.Time) error {
			return &retryError{Err: err, Failures: n, NextAttempt: next}
		},
		Stale: m.bg.cue,
		None:  fmt.Errorf("no session for %s: %w", cfg.Environment, ErrNotLoggedIn),
	})
	return m, nil
}

// Format describes the manager under every verb, without secrets.
func (m *Manager) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "session.Manager{env: %q, user: %q}", m.cfg.Environment, m.username())
}

// LogValue implements [slog.LogValuer] without secrets.
func (m *Manager) LogValue() slog.Value {
	return slog.GroupValue(slog.String("env", m.cfg.Environment), slog.String("user", m.username()))
}

func (m *Manager) username() string {
	if e := m.cache.Current(); e != nil && e.Data.username != "" {
		return e.Data.username
	}
	return m.cfg.Username
}

func (m *Manager) key(username string) keystore.Key {
	return keystore.Key{Environment: m.cfg.Environment, Username: username, Item: keystore.ItemSession}
}

// Login logs in with a password (and an OTP code once MFA is on), stores
// the session and makes its access token current; refreshes in flight for
// an earlier session are discarded. Without a needed code the error matches
// [traderapi.ErrOTPRequired]. If the session cannot be stored, the manager
// still holds it and the error matches [ErrNotStored]. A Logout, Close or another
// Login of this manager while the login is under way wins: the new session
// is revoked and the error says which (a logout's matches [ErrLoggedOut],
// a Close's [ErrClosed]).
func (m *Manager) Login(ctx context.Context, username string, password, otp traderapi.Secret) error {
	epoch := m.cache.Epoch()
	e, err := m.login(ctx, Credentials{Username: username, Password: password, OTP: otp}, nil)
	if err != nil {
		return err
	}
	ok, warn := m.cache.Replace(ctx, epoch, e)
	if !ok {
		m.revoke(context.WithoutCancel(ctx), e)
		return m.lostLogin(warn)
	}
	m.bg.switchedUser()
	m.cfg.Logger.Info("logged in", "env", m.cfg.Environment, "user", username, "access_lifetime", e.Data.lifetime)
	return warn
}

// lostLogin is the error of a login that was not published because
// something won the race (why is Replace's answer): the manager was
// closed, logged out, or took another login meanwhile.
func (m *Manager) lostLogin(why error) error {
	cur := m.cache.Current()
	switch {
	case errors.Is(why, ErrClosed):
		return fmt.Errorf("login: the manager was closed meanwhile; the new session was revoked: %w", ErrClosed)
	case why != nil && !errors.Is(why, tokencache.ErrSuperseded):
		return why // the store refused the commit
	case cur != nil && errors.Is(cur.Err, ErrLoggedOut):
		return fmt.Errorf("login: a logout meanwhile won; the new session was revoked: %w", ErrLoggedOut)
	}
	return fmt.Errorf("login: another login of this manager meanwhile won; the new session was revoked: %w", tokencache.ErrSuperseded)
}

// login calls the exchange's login and builds the new state, generation
// above what the store holds. stored is the record it replaces, if known.
func (m *Manager) login(ctx context.Context, c Credentials, stored *keystore.Record) (*entry, error) {
	sent := m.cfg.Now()
	resp, err := m.cfg.Client.Login(ctx, traderapi.LoginRequest{Username: c.Username, Password: c.Password, OTP: c.OTP})
	if err != nil {
		return nil, err
	}
	if stored == nil {
		stored, _ = m.cfg.Store.Get(ctx, m.key(c.Username))
	}
	d := sess{
		username: c.Username, refresh: resp.RefreshToken, mfa: c.OTP != "",
		refreshExpiry: refreshExpiry(resp.RefreshToken, resp.RefreshIssueTime, resp.RefreshExpirationTime, sent),
		gen:           max(loginGeneration(m.cfg.Now(), stored), m.cfg.Generations.Seen(m.cfg.Environment, c.Username)+1),
		stored:        stored, login: true,
	}
	e, err := m.newEntry(d, issued{token: resp.AccessToken, issueAt: resp.AccessIssueTime, expireAt: resp.AccessExpirationTime, sent: sent})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return e, nil
}

// Resume picks up the stored session of the configured user (or the
// environment's last user) without a password and without a network call:
// the stored access token is served while it is fresh, and the next
// [Manager.Token] after that refreshes it. With no stored session it
// returns [ErrNotLoggedIn].
func (m *Manager) Resume(ctx context.Context) error {
	username, err := m.resumeUser(ctx)
	if err != nil {
		return err
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(username))
	if errors.Is(err, keystore.ErrNotFound) {
		return fmt.Errorf("no stored session for %q in %s: %w", username, m.cfg.Environment, ErrNotLoggedIn)
	}
	if err != nil {
		return err
	}
	if isTombstone(rec) {
		return m.endedFromTombstone(rec)
	}
	if !rec.RefreshExpiry.IsZero() && !m.cfg.Now().Before(m.fromExchange(rec.RefreshExpiry)) {
		err := fmt.Errorf("the stored session of %q expired at %s: %w", username, rec.RefreshExpiry.Format(time.RFC3339), ErrSessionExpired)
		_ = m.bury(ctx, sess{username: username, refresh: rec.RefreshToken, stored: rec, gen: rec.Generation}, false)
		return err
	}
	if _, err := m.cache.Replace(ctx, m.cache.Epoch(), m.fromRecord(rec)); err != nil {
		return err
	}
	m.bg.switchedUser()
	return nil
}

func (m *Manager) resumeUser(ctx context.Context) (string, error) {
	if m.cfg.Username != "" {
		return m.cfg.Username, nil
	}
	u, err := m.cfg.Store.LastUser(ctx, m.cfg.Environment)
	if errors.Is(err, keystore.ErrNotFound) {
		return "", fmt.Errorf("no stored session for %s: %w", m.cfg.Environment, ErrNotLoggedIn)
	}
	return u, err
}

// Close stops the background refresher and the timers, cancels a refresh
// in flight (nothing it got is published or stored), and waits briefly for
// it to stop. The stored session stays. After Close, Token returns
// [ErrClosed] and Start fails. Close is idempotent and always returns nil.
func (m *Manager) Close() error {
	m.cache.Close(closeWait)
	m.bg.close(closeWait)
	m.events.Close(closeWait)
	return nil
}
