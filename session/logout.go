package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Logout ends the session: from this call on no refresh in flight publishes
// or stores anything and [Config.Relogin] is not called; it revokes the
// tokens on the server and removes the stored session (only the record of
// this session: a newer login stored by another process stays). It
// refreshes first only when the access token has already expired (the
// revoke needs a valid one). If the server does not confirm the revoke the
// error matches [ErrNotRevoked]; if the stored session could not be
// removed, the error says so and wraps the store's error.
func (m *Manager) Logout(ctx context.Context) error {
	e := m.cache.Current()
	if e == nil || (e.Err != nil && !errors.Is(e.Err, tokencache.ErrClosed)) {
		if err := m.Resume(ctx); errors.Is(err, ErrSessionExpired) {
			return m.removeTombstone(ctx)
		} else if err != nil {
			return err
		}
		e = m.cache.Current()
	}
	if e == nil || e.Err != nil {
		return fmt.Errorf("logout: %w", cmpErr(e, ErrNotLoggedIn))
	}
	if err := m.cache.End(m.ended(sess{username: e.Data.username, final: true}, fmt.Errorf("logged out: %w", ErrNotLoggedIn))); err != nil {
		return err
	}
	revokeErr := m.revoke(ctx, e)
	if err := m.removeStored(ctx, e.Data); err != nil {
		return fmt.Errorf("logged out on the server, but the stored session could not be removed: %w: %w", ErrNotStored, err)
	}
	if revokeErr != nil {
		return fmt.Errorf("logged out locally; %w: %w", ErrNotRevoked, revokeErr)
	}
	return nil
}

// cmpErr is e's error, else def.
func cmpErr(e *entry, def error) error {
	if e != nil && e.Err != nil {
		return e.Err
	}
	return def
}

// revoke asks the exchange to revoke e's tokens. An access token that has
// expired is first refreshed directly (nothing is published). A 401 means
// the tokens were already dead: not an error.
func (m *Manager) revoke(ctx context.Context, e *entry) error {
	access := e.Token
	if e.Expired() || access == "" {
		resp, err := m.cfg.Client.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: e.Data.refresh})
		if isRejected(err) {
			return nil
		}
		if err != nil {
			return err
		}
		access = resp.AccessToken
	}
	err := m.cfg.Client.Logout(ctx, traderapi.LogoutRequest{AccessToken: access, RefreshToken: e.Data.refresh})
	if errors.Is(err, traderapi.ErrUnauthorized) {
		return nil
	}
	return err
}

// removeStored deletes the stored record of session d: the record it was
// built from or, if another process has refreshed the same session since
// (same refresh token), that one. A newer login's record stays.
func (m *Manager) removeStored(ctx context.Context, d sess) error {
	ctx = context.WithoutCancel(ctx)
	k := m.key(d.username)
	err := m.cfg.Store.CompareAndDelete(ctx, k, d.stored)
	var ce *keystore.ConflictError
	if errors.As(err, &ce) && ce.Current != nil && ce.Current.RefreshToken == d.refresh {
		err = m.cfg.Store.CompareAndDelete(ctx, k, ce.Current)
	}
	if errors.As(err, &ce) {
		m.cfg.Logger.Info("kept the stored session: another process stored a newer login", "env", m.cfg.Environment, "user", d.username)
		return nil
	}
	return err
}

// removeTombstone removes the record an ended session left, so that the
// user's logout leaves nothing behind; there is nothing to revoke.
func (m *Manager) removeTombstone(ctx context.Context) error {
	user, err := m.resumeUser(ctx)
	if err != nil {
		return nil
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(user))
	if err != nil || !isTombstone(rec) {
		return nil
	}
	return m.removeStored(ctx, sess{username: user, stored: rec})
}
