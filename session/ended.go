package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/session/internal/tokencache"
	"github.com/pmx-login/pmx-login/traderapi"
)

// sessionOver handles a refresh token the exchange rejected (or that has
// expired): it logs in again through Config.Relogin if there is one, else
// it ends the session. A relogin that fails transiently is retried like a
// refresh and then reported, keeping the session (its access token is
// served while valid, and the next refresh tries again); only the
// exchange's rejection of the credentials ends the session. The flight's
// context ends at Logout or Close, so Relogin never runs after them.
func (m *Manager) sessionOver(ctx context.Context, d sess, cause error, why Reason) (*entry, error) {
	d.adopted = false // this process's own finding: the commit leaves a tombstone
	if m.cfg.Relogin == nil {
		return m.endedFor(d, m.expired(d, cause), why), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e := m.replacedMeanwhile(ctx, d); e != nil {
		return e, nil
	}
	e, err := m.relogin(ctx, d)
	switch {
	case err == nil:
		return e, nil
	case !isRejected(err):
		return nil, fmt.Errorf("the refresh token was rejected and logging in again failed: %w", err)
	}
	return m.endedFor(d, m.expired(d, fmt.Errorf("%v; logging in again was refused: %w", cause, err)), why), nil
}

// endedFor is the ended state of session d, reported as an
// EventSessionEnded.
func (m *Manager) endedFor(d sess, err error, why Reason) *entry {
	m.emit(Event{Type: EventSessionEnded, Username: d.username, Reason: why, Generation: d.gen, Err: err})
	return m.ended(d, err)
}

// relogin asks Config.Relogin for credentials and logs in, retrying
// transient failures. Each attempt asks for fresh credentials, since a
// one-time code is good once; a code the exchange refused (a person used
// the same window's code elsewhere) is followed by one more try, which a
// code source answers with the next window's code.
func (m *Manager) relogin(ctx context.Context, d sess) (*entry, error) {
	var e *entry
	c := reloginCall{ev: Event{Username: d.username}}
	err := m.retry(ctx, "re-login", func() (err error) {
		e, err = m.reloginOnce(ctx, d, &c)
		return err
	}, func(err error, next time.Duration) {
		m.emit(m.failedEvent(withType(c.ev, EventReloginFailed), c.sent, err, next))
	})
	if e != nil {
		e.Data.stored, e.Data.relogin = d.stored, true
		m.emit(Event{Type: EventReloginSucceeded, Username: e.Data.username, Attempt: c.ev.Attempt,
			Duration: m.cfg.Now().Sub(c.sent), Expiry: e.Expiry, Generation: e.Data.gen})
	}
	return e, err
}

// reloginCall is the state of a relogin's login calls, for their events.
type reloginCall struct {
	ev   Event // Attempt counts the login calls
	sent time.Time
}

// reloginOnce is one relogin attempt, with a second code if the first was
// refused.
func (m *Manager) reloginOnce(ctx context.Context, d sess, call *reloginCall) (*entry, error) {
	for try := 1; ; try++ {
		call.sent = time.Time{} // no login call sent yet in this try
		c, err := m.cfg.Relogin(ctx, d.username)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errReloginSource, err)
		}
		if c.Username == "" {
			c.Username = d.username
		}
		call.ev.Attempt++
		call.sent = m.cfg.Now()
		m.emit(withType(call.ev, EventReloginStarted))
		e, err := m.login(ctx, c, d.stored)
		if try == 1 && c.OTP != "" && isRejected(err) && errors.Is(err, traderapi.ErrOTPRequired) {
			m.emit(m.failedEvent(withType(call.ev, EventReloginFailed), call.sent, err, time.Nanosecond))
			m.cfg.Logger.Info("re-login: the one-time code was refused (used elsewhere?); trying the next window", "env", m.cfg.Environment)
			continue
		}
		return e, err
	}
}

// replacedMeanwhile re-reads the store before a relogin: a session logged
// out or replaced by a newer login since d was read is not logged in
// again; the stored record is taken up instead (nil: go on).
func (m *Manager) replacedMeanwhile(ctx context.Context, d sess) *entry {
	if m.storeDown.Load() {
		return nil
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(d.username))
	if err != nil || rec.Generation <= d.gen || mayContinue(rec, d) {
		return nil
	}
	m.cfg.Logger.Info("not logging in again: the session was logged out or replaced meanwhile", "env", m.cfg.Environment, "generation", rec.Generation)
	return m.fromRecord(rec)
}

// errReloginSource marks an error from Config.Relogin itself.
var errReloginSource = errors.New("Config.Relogin failed")

// expired is the error that ends a session whose refresh token is dead.
func (m *Manager) expired(d sess, cause error) error {
	return &expiredError{Environment: m.cfg.Environment, Username: d.username, Cause: cause}
}

// ended returns the ended state of session d.
func (m *Manager) ended(d sess, err error) *entry { return tokencache.NewEnded(d, err) }

// expiredError is a session that ended because the exchange rejected its
// refresh token (or it expired) and no relogin succeeded. It matches
// [ErrSessionExpired] only; Cause says what the exchange answered.
type expiredError struct {
	Environment, Username string
	Cause                 error
}

// Error names the session and the cause.
func (e *expiredError) Error() string {
	return fmt.Sprintf("session of %q in %s ended (%v): %v", e.Username, e.Environment, e.Cause, ErrSessionExpired)
}

// Is matches [ErrSessionExpired].
func (e *expiredError) Is(target error) bool { return target == ErrSessionExpired }
