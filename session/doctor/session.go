package doctor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// storedSession is the stored record of the user, read once per run.
type storedSession struct {
	user string
	rec  *keystore.Record
	err  error // why there is no record
}

// loginFix is the fix of every dead or missing session.
const loginFix = "run `pmx-login login`"

// loadSession reads the user's session from the store, once per run.
func (r *runner) loadSession(ctx context.Context) *storedSession {
	if r.loaded {
		return &r.sess
	}
	r.loaded = true
	s := &r.sess
	if r.cfg.Store == nil {
		s.err = errors.New("no keystore given")
		return s
	}
	sctx, cancel := r.step(ctx)
	defer cancel()
	s.user = r.cfg.Username
	if s.user == "" {
		u, err := r.cfg.Store.LastUser(sctx, r.cfg.Env.Name)
		if err != nil {
			s.err = fmt.Errorf("no username given, and the last user of %s could not be read: %w", r.cfg.Env.Name, err)
			if errors.Is(err, keystore.ErrNotFound) {
				s.err = fmt.Errorf("nobody has logged in to %s: %w", r.cfg.Env.Name, session.ErrNotLoggedIn)
			}
			return s
		}
		s.user = u
	}
	rec, err := r.cfg.Store.Get(sctx, keystore.Key{Environment: r.cfg.Env.Name, Username: s.user, Item: keystore.ItemSession})
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		s.err = fmt.Errorf("no stored session for %s in %s: %w", s.user, r.cfg.Env.Name, session.ErrNotLoggedIn)
	case err != nil:
		s.err = fmt.Errorf("reading the session of %s in %s: %w", s.user, r.cfg.Env.Name, err)
	case rec.Ended() && rec.LoggedOut:
		s.err = fmt.Errorf("the session of %s in %s was logged out: %w", s.user, r.cfg.Env.Name, session.ErrNotLoggedIn)
	case rec.Ended():
		s.err = fmt.Errorf("the session of %s in %s ended (its refresh token was rejected or expired): %w", s.user, r.cfg.Env.Name, session.ErrSessionExpired)
	default:
		s.rec = rec
	}
	return s
}

// storedSession checks that a session is stored and its refresh token is
// not expired or expiring.
func (r *runner) storedSession(ctx context.Context) Check {
	if r.cfg.Store == nil {
		return newCheck(NameSession, Skipped, "no keystore given", "")
	}
	s := r.loadSession(ctx)
	now := r.cfg.Now()
	switch {
	case errors.Is(s.err, session.ErrNotLoggedIn) && r.cfg.ISV != nil:
		return newCheck(NameSession, Skipped, errText(s.err)+"; checking the ISV credentials only", "")
	case errors.Is(s.err, session.ErrNotLoggedIn):
		return newCheck(NameSession, Fail, errText(s.err), loginFix+" (with --env and --username if needed)")
	case errors.Is(s.err, keystore.ErrUnavailable):
		return newCheck(NameSession, Fail, errText(s.err),
			"unlock the keychain, or keep sessions in a 0600 file with --keystore file (PMX_KEYSTORE=file) and log in again")
	case errors.Is(s.err, keystore.ErrInsecure):
		return newCheck(NameSession, Fail, errText(s.err), "make the keystore directory and files private: chmod -R go-rwx ~/.config/pmx-login")
	case errors.Is(s.err, keystore.ErrCorrupt):
		return newCheck(NameSession, Fail, errText(s.err), "the stored record cannot be read: "+loginFix+" to replace it")
	case s.err != nil:
		return newCheck(NameSession, Fail, errText(s.err), "")
	case s.rec.RefreshToken.IsZero():
		return newCheck(NameSession, Fail, fmt.Sprintf("the stored session of %s has no refresh token", s.user), loginFix)
	}
	saw := fmt.Sprintf("session of %s in %s", s.user, r.cfg.Env.Name)
	exp := s.rec.RefreshExpiry
	switch {
	case exp.IsZero():
		return newCheck(NameSession, OK, saw+"; the refresh token's expiry is unknown", "")
	case !now.Before(exp):
		return newCheck(NameSession, Fail, saw+"; the refresh token expired "+human(now, exp), loginFix)
	case exp.Sub(now) < RefreshExpiringSoon:
		return newCheck(NameSession, Warn, saw+"; the refresh token expires "+human(now, exp),
			"log in again before then ("+loginFix+"), or the session ends")
	}
	return newCheck(NameSession, OK, saw+"; refresh token valid until "+human(now, exp), "")
}

// trialRefresh runs [Config.Refresh] once.
func (r *runner) trialRefresh(ctx context.Context) Check {
	if r.cfg.Refresh == nil {
		return newCheck(NameRefresh, Skipped, "no refresher given", "")
	}
	if r.cfg.Store != nil {
		if s := r.loadSession(ctx); s.rec == nil {
			return newCheck(NameRefresh, Skipped, "no stored session to refresh (see stored session)", "")
		}
	}
	sctx, cancel := r.step(ctx)
	defer cancel()
	start := time.Now()
	err := r.cfg.Refresh(sctx)
	took := time.Since(start).Round(time.Millisecond)
	if err == nil {
		return newCheck(NameRefresh, OK, fmt.Sprintf("the exchange issued a new access token for the stored refresh token (%s)", took), "")
	}
	saw := "the refresh failed: " + errText(err)
	var diagnosis string
	var ae *traderapi.APIError
	if errors.As(err, &ae) {
		diagnosis = ae.Diagnosis()
	}
	switch {
	case errors.Is(err, session.ErrSessionExpired), errors.Is(err, session.ErrNotLoggedIn),
		errors.Is(err, traderapi.ErrUnauthorized):
		return newCheck(NameRefresh, Fail, saw,
			loginFix+": the refresh token was revoked (logout, password change, an administrator), has expired, or belongs to another environment")
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return newCheck(NameRefresh, Fail, saw, "the exchange could not be reached: see the reachability check")
	case errors.Is(err, traderapi.ErrUnavailable), errors.Is(err, traderapi.ErrRateLimited):
		return newCheck(NameRefresh, Fail, saw, "the exchange is busy or down: try again in a few minutes")
	case ae != nil && ae.StatusCode == 421: // the library's diagnosis names no flag
		return newCheck(NameRefresh, Fail, saw, "give the environment's REST host with --host (PMX_HOST), e.g. rest.preprod.polymarketexchange.com")
	}
	return newCheck(NameRefresh, Fail, saw, cmpOr(diagnosis, "run `pmx-login refresh --debug` to see the exchange's whole answer"))
}

// Refresher is what [TrialRefresh] needs of the exchange;
// [*traderapi.Client] is one.
type Refresher interface {
	RefreshAccessToken(ctx context.Context, req traderapi.RefreshRequest) (*traderapi.RefreshResponse, error)
}

// TrialRefresh returns a [Config.Refresh] that refreshes the stored session
// of username (or of the environment's last user) once, with api, and keeps
// nothing: the new access token is dropped and the store is not touched, so
// that running the doctor changes no state. (A [session.Manager] would
// delete a session whose refresh token is rejected.)
func TrialRefresh(api Refresher, store Store, env, username string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		user := username
		if user == "" {
			u, err := store.LastUser(ctx, env)
			if err != nil {
				return fmt.Errorf("no username given and no last user of %s: %w", env, session.ErrNotLoggedIn)
			}
			user = u
		}
		rec, err := store.Get(ctx, keystore.Key{Environment: env, Username: user, Item: keystore.ItemSession})
		if err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return fmt.Errorf("no stored session for %s in %s: %w", user, env, session.ErrNotLoggedIn)
			}
			return err
		}
		_, err = api.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: rec.RefreshToken})
		return err
	}
}
