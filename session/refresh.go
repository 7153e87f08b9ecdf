package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pmx-login/pmx-login/traderapi"
)

// refreshKey is the single-flight key: one refresh per manager at a time.
const refreshKey = "refresh"

// Token returns a valid access token. While the current token is fresh it
// returns at once, lock-free, without reading the clock or allocating. A
// stale token (within the margin of expiry) is still returned while one
// background refresh runs; only a caller holding nothing valid waits for the
// refresh, and giving up (ctx ending) does not cancel it for the others.
func (m *Manager) Token(ctx context.Context) (traderapi.Secret, error) {
	if s := m.cur.Load(); s != nil && !s.stale.Load() {
		return s.access, nil
	}
	return m.slowToken(ctx)
}

func (m *Manager) slowToken(ctx context.Context) (traderapi.Secret, error) {
	s := m.cur.Load()
	switch {
	case s == nil:
		return "", fmt.Errorf("no session for %s: %w", m.cfg.Environment, ErrNotLoggedIn)
	case s.err != nil:
		return "", s.err
	case !s.stale.Load():
		return s.access, nil // refreshed since Token looked
	case !s.expired.Load():
		m.startRefresh(ctx, false)
		return s.access, nil
	}
	return m.refreshNow(ctx, false)
}

// Refresh gets a new access token now, whatever the state of the current
// one, joining a refresh already in flight.
func (m *Manager) Refresh(ctx context.Context) error {
	s := m.cur.Load()
	if s == nil {
		return fmt.Errorf("no session for %s: %w", m.cfg.Environment, ErrNotLoggedIn)
	}
	if s.err != nil {
		return s.err
	}
	_, err := m.refreshNow(ctx, true)
	return err
}

// refreshNow joins (or starts) the one refresh in flight and waits for it
// or for ctx, whichever ends first.
func (m *Manager) refreshNow(ctx context.Context, force bool) (traderapi.Secret, error) {
	before := m.cur.Load()
	for joined := 0; ; joined++ {
		select {
		case r := <-m.startRefresh(ctx, force):
			if r.Err != nil {
				return "", r.Err
			}
			s := r.Val.(*state)
			if force && s == before && joined == 0 {
				// We joined an unforced flight that found the token fresh
				// and called nothing: a forced refresh must reach the
				// exchange, so run one of our own.
				continue
			}
			return s.access, nil
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the token refresh: %w", ctx.Err())
		}
	}
}

// startRefresh joins the refresh in flight or starts one on a context
// detached from ctx (its values kept, its cancellation not), bounded by the
// refresh's own time budget, so that the caller who started it giving up
// does not cancel it for the others. Unless force is set, a refresh that
// finds the current token fresh (another refresh just published it) returns
// it without a call.
func (m *Manager) startRefresh(ctx context.Context, force bool) <-chan singleflight.Result {
	return m.flight.DoChan(refreshKey, func() (any, error) {
		if s := m.cur.Load(); !force && s != nil && s.err == nil && !s.stale.Load() {
			return s, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.Retry.MaxElapsed+5*time.Second)
		defer cancel()
		return m.refresh(rctx)
	})
}

// refresh runs one refresh: it retries transient failures while the old
// token is served, and ends (or re-logs in) the session when the refresh
// token is rejected. It returns the published *state.
func (m *Manager) refresh(ctx context.Context) (any, error) {
	s := m.cur.Load()
	if s == nil || s.err != nil {
		return nil, ErrNotLoggedIn
	}
	if !s.refreshExpiresAt.IsZero() && !m.cfg.Now().Before(s.refreshExpiresAt) {
		return m.sessionOver(ctx, s, errors.New("the refresh token has expired"))
	}
	resp, err := m.refreshWithRetry(ctx, s.refresh)
	if err != nil && isRejected(err) {
		// Another process may have logged in again or been handed a
		// rotated refresh token: take the stored one if it differs.
		if rec, gerr := m.cfg.Store.Get(ctx, m.key(s.username)); gerr == nil && rec.RefreshToken != s.refresh && rec.RefreshToken != "" {
			s = &state{username: s.username, refresh: rec.RefreshToken, refreshExpiresAt: rec.RefreshExpiry, mfa: s.mfa}
			resp, err = m.refreshWithRetry(ctx, s.refresh)
		}
	}
	switch {
	case err != nil && isRejected(err):
		return m.sessionOver(ctx, s, err)
	case err != nil:
		m.cfg.Logger.Warn("token refresh failed", "env", m.cfg.Environment, "user", s.username, "error", err)
		return nil, fmt.Errorf("refreshing the access token: %w", err)
	}
	next, err := m.stateFromRefresh(s, resp)
	if err != nil {
		return nil, err
	}
	m.publish(next)
	m.cfg.Logger.Info("refreshed access token", "env", m.cfg.Environment, "user", s.username, "lifetime", next.lifetime)
	if err := m.save(ctx, next); err != nil {
		m.cfg.Logger.Warn("could not store the refreshed session", "error", err)
	}
	return next, nil
}

// stateFromRefresh builds the next state from a refresh response, keeping
// the refresh token unless the server rotated it.
func (m *Manager) stateFromRefresh(s *state, resp *traderapi.RefreshResponse) (*state, error) {
	refresh, refreshAt := s.refresh, s.refreshExpiresAt
	if resp.RefreshToken != "" {
		refresh = resp.RefreshToken
		refreshAt = refreshExpiry(resp.RefreshToken, resp.RefreshIssueTime, resp.RefreshExpirationTime, resp.ReceivedAt)
	}
	next, err := newState(s.username, issued{
		token: resp.AccessToken, issueAt: resp.AccessIssueTime, expireAt: resp.AccessExpirationTime, received: resp.ReceivedAt,
	}, refresh, refreshAt, m.cfg.Margin)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	next.mfa = s.mfa
	return next, nil
}

// refreshWithRetry calls refresh_access_token, retrying transient failures
// with capped exponential backoff and full jitter, honouring Retry-After,
// within the configured attempts and time.
func (m *Manager) refreshWithRetry(ctx context.Context, refresh traderapi.Secret) (*traderapi.RefreshResponse, error) {
	r := m.cfg.Retry
	deadline := time.Now().Add(r.MaxElapsed)
	var err error
	for attempt := 1; ; attempt++ {
		var resp *traderapi.RefreshResponse
		resp, err = m.cfg.Client.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: refresh})
		if err == nil || !isTransient(err) || attempt >= r.Attempts {
			return resp, err
		}
		wait := backoff(r, attempt, err)
		if time.Until(deadline) < wait {
			return nil, fmt.Errorf("gave up after %d attempts (next wait %s exceeds the retry budget): %w", attempt, wait.Round(time.Millisecond), err)
		}
		m.cfg.Logger.Info("token refresh failed, retrying", "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("refresh retries stopped: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is the wait before retry n: full jitter over base·2ⁿ⁻¹ capped at
// MaxDelay, and never less than the server's Retry-After.
func backoff(r Retry, n int, err error) time.Duration {
	d := min(r.BaseDelay<<min(n-1, 30), r.MaxDelay)
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	var ae *traderapi.APIError
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	return d
}

// sessionOver handles a dead refresh token: log in again through
// Config.Relogin if there is one, else remove the session.
func (m *Manager) sessionOver(ctx context.Context, s *state, cause error) (any, error) {
	if m.cfg.Relogin != nil {
		creds, err := m.cfg.Relogin(ctx, s.username)
		if err == nil {
			if creds.Username == "" {
				creds.Username = s.username
			}
			if err = m.Login(ctx, creds.Username, creds.Password, creds.OTP); err == nil || errors.Is(err, ErrNotStored) {
				m.cfg.Logger.Info("logged in again after the session ended", "user", creds.Username)
				return m.cur.Load(), nil
			}
		}
		m.cfg.Logger.Warn("re-login failed", "user", s.username, "error", err)
		cause = fmt.Errorf("%w; re-login failed: %w", cause, err)
	}
	err := fmt.Errorf("session of %q in %s ended (%w): %w", s.username, m.cfg.Environment, cause, ErrSessionExpired)
	m.forget(ctx, s.username, err)
	return nil, err
}

// invalidate marks tok expired if it is still the current token, so that
// the next Token refreshes. Only that exact token is dropped.
func (m *Manager) invalidate(tok traderapi.Secret) {
	if s := m.cur.Load(); s != nil && s.access == tok {
		s.stale.Store(true)
		s.expired.Store(true)
	}
}
