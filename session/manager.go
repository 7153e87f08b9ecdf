package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Manager owns one trader's session in one environment. It is safe for
// concurrent use. Create it with [New].
type Manager struct {
	cfg Config

	cur     atomic.Pointer[state]
	flight  singleflight.Group
	mu      sync.Mutex    // serialises publishing, so timers of replaced states are stopped
	staleCh chan struct{} // cue for the background refresher
	closed  chan struct{}
	close   sync.Once
	started atomic.Bool
}

// New returns a Manager with no session; call [Manager.Login] or
// [Manager.Resume].
func New(cfg Config) (*Manager, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, staleCh: make(chan struct{}, 1), closed: make(chan struct{})}, nil
}

// String describes the manager without secrets.
func (m *Manager) String() string {
	return fmt.Sprintf("session.Manager{env: %q, user: %q}", m.cfg.Environment, m.username())
}

// GoString is [Manager.String], for %#v.
func (m *Manager) GoString() string { return m.String() }

// LogValue implements [slog.LogValuer] without secrets.
func (m *Manager) LogValue() slog.Value {
	return slog.GroupValue(slog.String("env", m.cfg.Environment), slog.String("user", m.username()))
}

// Environment returns the name of the manager's environment.
func (m *Manager) Environment() string { return m.cfg.Environment }

func (m *Manager) username() string {
	if s := m.cur.Load(); s != nil {
		return s.username
	}
	return m.cfg.Username
}

func (m *Manager) key(username string) keystore.Key {
	return keystore.Key{Environment: m.cfg.Environment, Username: username, Item: keystore.ItemSession}
}

// Register creates an account with a registration token from the account
// manager and a password. It does not log in.
func (m *Manager) Register(ctx context.Context, registrationToken, password traderapi.Secret) (*traderapi.Result, error) {
	return m.cfg.Client.Register(ctx, traderapi.RegisterRequest{Token: registrationToken, Password: password})
}

// CheckPassword asks the exchange whether a password meets its policy.
func (m *Manager) CheckPassword(ctx context.Context, password traderapi.Secret) (*traderapi.Result, error) {
	return m.cfg.Client.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: password})
}

// ChangePassword changes the user's password. An empty username means the
// current session's user.
func (m *Manager) ChangePassword(ctx context.Context, username string, oldPassword, newPassword traderapi.Secret) error {
	if username = m.orCurrent(username); username == "" {
		return fmt.Errorf("change password: no username given and %w", ErrNotLoggedIn)
	}
	_, err := m.cfg.Client.ChangePassword(ctx, traderapi.ChangePasswordRequest{
		Username: username, OldPassword: oldPassword, NewPassword: newPassword,
	})
	return err
}

func (m *Manager) orCurrent(username string) string {
	if username != "" {
		return username
	}
	return m.username()
}

// Login logs in with a password (and an OTP code once MFA is on), stores
// the session and makes its access token current. Without a needed code the
// error matches [ErrOTPRequired]. If the session cannot be stored, the
// manager still holds it and the error matches [ErrNotStored].
func (m *Manager) Login(ctx context.Context, username string, password, otp traderapi.Secret) error {
	resp, err := m.cfg.Client.Login(ctx, traderapi.LoginRequest{Username: username, Password: password, OTP: otp})
	if err != nil {
		return err
	}
	s, err := newState(username, issued{
		token: resp.AccessToken, issueAt: resp.AccessIssueTime, expireAt: resp.AccessExpirationTime, received: resp.ReceivedAt,
	}, resp.RefreshToken, refreshExpiry(resp.RefreshToken, resp.RefreshIssueTime, resp.RefreshExpirationTime, resp.ReceivedAt), m.cfg.Margin)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	s.mfa = otp != ""
	m.publish(s)
	m.cfg.Logger.Info("logged in", "env", m.cfg.Environment, "user", username, "access_lifetime", s.lifetime)
	return m.save(ctx, s)
}

// Resume picks up the stored session of the configured user (or the
// environment's last user) without a password: it uses the stored access
// token while it is valid, and otherwise refreshes it with the stored
// refresh token. With no stored session it returns [ErrNotLoggedIn].
func (m *Manager) Resume(ctx context.Context) error {
	username := m.cfg.Username
	if username == "" {
		u, err := m.cfg.Store.LastUser(ctx, m.cfg.Environment)
		if errors.Is(err, keystore.ErrNotFound) {
			return fmt.Errorf("no stored session for %s: %w", m.cfg.Environment, ErrNotLoggedIn)
		}
		if err != nil {
			return err
		}
		username = u
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(username))
	if errors.Is(err, keystore.ErrNotFound) {
		return fmt.Errorf("no stored session for %q in %s: %w", username, m.cfg.Environment, ErrNotLoggedIn)
	}
	if err != nil {
		return err
	}
	now := m.cfg.Now()
	if !rec.RefreshExpiry.IsZero() && !now.Before(rec.RefreshExpiry) {
		err := fmt.Errorf("the stored session of %q expired at %s: %w", username, rec.RefreshExpiry.Format(time.RFC3339), ErrSessionExpired)
		m.forget(ctx, username, err)
		return err
	}
	s := m.fromRecord(rec, now)
	m.publish(s)
	if !s.stale.Load() {
		return nil // the cached access token is good for a while yet
	}
	_, err = m.refreshNow(ctx, false)
	return err
}

// fromRecord rebuilds a state from a stored record. The stored access
// expiry is a local time this package computed, so it is read against the
// local clock; a token close to it is treated as stale.
func (m *Manager) fromRecord(rec *keystore.Record, now time.Time) *state {
	s := &state{username: rec.Username, access: rec.AccessToken, refresh: rec.RefreshToken, refreshExpiresAt: rec.RefreshExpiry, mfa: rec.MFA}
	if rec.AccessToken == "" || rec.AccessExpiry.IsZero() {
		s.stale.Store(true)
		s.expired.Store(true)
		return s
	}
	left := rec.AccessExpiry.Sub(now)
	s.expiresAt = now.Add(left)
	s.staleAt = s.expiresAt.Add(-m.cfg.Margin)
	return s // publish arms its timers
}

// Logout revokes the session on the server and removes it locally. If the
// server cannot be reached the local session is still removed and the error
// matches [ErrNotRevoked].
func (m *Manager) Logout(ctx context.Context) error {
	s := m.cur.Load()
	if s == nil || s.err != nil {
		if err := m.Resume(ctx); err != nil && s == nil {
			return err
		}
		s = m.cur.Load()
	}
	if s == nil || s.err != nil {
		return ErrNotLoggedIn
	}
	access, tokErr := m.Token(ctx)
	var revokeErr error
	if tokErr == nil {
		revokeErr = m.cfg.Client.Logout(ctx, traderapi.LogoutRequest{AccessToken: access, RefreshToken: m.cur.Load().refresh})
	}
	m.forget(ctx, s.username, ErrNotLoggedIn)
	switch {
	case tokErr != nil && errors.Is(tokErr, ErrSessionExpired):
		return nil // nothing left to revoke
	case tokErr != nil:
		return fmt.Errorf("logged out locally; %w: %w", ErrNotRevoked, tokErr)
	case revokeErr != nil && !errors.Is(revokeErr, traderapi.ErrUnauthorized):
		return fmt.Errorf("logged out locally; %w: %w", ErrNotRevoked, revokeErr)
	}
	return nil
}

// forget ends the session in memory, so that Token returns why, and
// removes it from the store.
func (m *Manager) forget(ctx context.Context, username string, why error) {
	m.publish(deadState(username, why))
	if err := m.cfg.Store.Delete(context.WithoutCancel(ctx), m.key(username)); err != nil {
		m.cfg.Logger.Warn("could not remove the stored session", "env", m.cfg.Environment, "user", username, "error", err)
	}
}

// publish makes s current and stops the timers of the state it replaces.
func (m *Manager) publish(s *state) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.err == nil && s.timers[0] == nil && s.timers[1] == nil && !s.expired.Load() {
		s.arm(m.cfg.Now(), m.onStale)
	}
	if old := m.cur.Swap(s); old != nil && old != s {
		old.disarm()
	}
}

// save writes the current session to the store.
func (m *Manager) save(ctx context.Context, s *state) error {
	rec := &keystore.Record{
		Environment:   m.cfg.Environment,
		Username:      s.username,
		RefreshToken:  s.refresh,
		RefreshExpiry: wall(s.refreshExpiresAt),
		AccessToken:   s.access,
		AccessExpiry:  wall(s.expiresAt),
		MFA:           s.mfa,
		SavedAt:       wall(m.cfg.Now()),
	}
	if err := m.cfg.Store.Set(context.WithoutCancel(ctx), m.key(s.username), rec); err != nil {
		return fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	return nil
}

// wall drops the monotonic reading for storage.
func wall(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Round(0).UTC()
}

// Status describes the session without secrets.
type Status struct {
	Environment string
	Username    string
	// LoggedIn is true while the manager holds an access token.
	LoggedIn bool
	// AccessExpiry and RefreshExpiry are local times (zero: unknown).
	AccessExpiry, RefreshExpiry time.Time
	// Stale is true once the access token is within the margin of expiry.
	Stale bool
	// MFA is true when the session began with a login that used an OTP.
	MFA bool
}

// Status reports the session's state. It does not touch the network.
func (m *Manager) Status() Status {
	st := Status{Environment: m.cfg.Environment, Username: m.username()}
	s := m.cur.Load()
	if s == nil || s.err != nil {
		return st
	}
	st.LoggedIn = !s.expired.Load()
	st.AccessExpiry = wall(s.expiresAt)
	st.RefreshExpiry = wall(s.refreshExpiresAt)
	st.Stale = s.stale.Load()
	st.MFA = s.mfa
	return st
}
