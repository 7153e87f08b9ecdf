package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Logout ends the session: from this call on no refresh in flight publishes
// or stores anything and [Config.Relogin] is not called; it revokes the
// tokens on the server and replaces the stored session with a logged-out
// tombstone, a record without tokens (only the record of this session: a
// newer login stored by another process stays), from which every process
// sharing the store learns of the logout. The session ended is the one
// current when Logout takes effect (a Login that committed first is the
// one logged out). A manager whose session had already ended (or was
// logged out) has nothing to revoke: Logout only marks that session's
// record logged out, and a newer login another process stored stays. A
// manager that never held a session logs out the stored one. It refreshes
// first only when the access token has already expired (the revoke needs a
// valid one). If the exchange does not confirm the revoke (unreachable, or
// a proxy answered for it) the error matches [ErrNotRevoked]; if the stored
// session could not be replaced, the error matches [ErrNotStored] and
// wraps the store's error.
func (m *Manager) Logout(ctx context.Context) error {
	e := m.cache.Current()
	switch {
	case e == nil:
		if err := m.Resume(ctx); errors.Is(err, ErrSessionExpired) {
			return m.buryExpired(ctx, "")
		} else if err != nil {
			return err
		}
	case e.Err != nil && !errors.Is(e.Err, tokencache.ErrClosed):
		return m.buryExpired(ctx, e.Data.username)
	}
	e, err := m.cache.End(func(cur *entry) *entry {
		return m.ended(sess{username: userOf(cur), final: true}, fmt.Errorf("%w: not logged in", ErrLoggedOut))
	})
	if err != nil {
		return err
	}
	if e == nil || e.Err != nil {
		return m.buryExpired(ctx, userOf(e)) // ended meanwhile: nothing to revoke
	}
	m.emit(Event{Type: EventSessionEnded, Username: e.Data.username, Reason: ReasonLoggedOut, Generation: e.Data.gen,
		Err: ErrLoggedOut})
	revokeErr := m.revoke(ctx, e)
	if err := m.bury(ctx, e.Data, true); err != nil {
		return fmt.Errorf("logged out on the server, but the stored session could not be removed: %w: %w", ErrNotStored, err)
	}
	if revokeErr != nil {
		return fmt.Errorf("logged out locally; %w: %w", ErrNotRevoked, revokeErr)
	}
	return nil
}

// userOf is the user of e's session ("" for none).
func userOf(e *entry) string {
	if e == nil {
		return ""
	}
	return e.Data.username
}

// revoke asks the exchange to revoke e's tokens. An access token that has
// expired is first refreshed directly (nothing is published). The
// exchange's own 401 means the tokens were already dead: not an error; a
// proxy's 401 confirms nothing.
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
	if isRejected(err) {
		return nil
	}
	return err
}

// buryExpired marks the record of a session that had already ended as
// logged out, if the stored record is still an ended session's tombstone
// (a newer login stays); there is nothing to revoke. An empty user is the
// one Resume would pick.
func (m *Manager) buryExpired(ctx context.Context, user string) error {
	if user == "" {
		var err error
		if user, err = m.resumeUser(ctx); err != nil {
			return nil
		}
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(user))
	if err != nil || !isTombstone(rec) {
		return nil
	}
	return m.bury(ctx, sess{username: user, stored: rec, gen: rec.Generation}, true)
}
