package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Token returns a valid access token. While the current token is fresh it
// returns at once, lock-free, without reading the clock or allocating. A
// stale token (within the margin of expiry) is still returned while one
// background refresh runs; only a caller holding nothing valid waits for the
// refresh, and giving up (ctx ending) does not cancel it for the others.
// After a failed refresh no new one starts before a back-off
// ([Retry.Cooldown]); meanwhile a valid token is still served, and a caller
// with none gets the last refresh error.
func (m *Manager) Token(ctx context.Context) (traderapi.Secret, error) {
	return m.cache.Token(ctx)
}

// Refresh gets a new access token now, whatever the state of the current
// one, joining a refresh already in flight. It calls the exchange once
// (more only to retry a transient failure). If the new token could not be
// stored, the manager uses it and the error matches [ErrNotStored].
func (m *Manager) Refresh(ctx context.Context) error {
	_, err := m.cache.Refresh(ctx)
	return err
}

// lockPatience is how long a refresh waits for the store's lock before
// the callers of FreshToken that hold a valid token stop waiting for it:
// another process holds the lock and refreshes (or its lease runs out).
const lockPatience = 100 * time.Millisecond

// lockLimit bounds a refresh's wait for the store's lock: a frozen store
// or a lock held past it cannot hold the refresh up for longer (it goes on
// without the lock, fenced by the compare-and-set). [Manager.lockWait]
// shortens it for a token close to its expiry.
const lockLimit = 5 * time.Second

// lock takes the store's cross-process lock for one refresh flight; the
// token cache holds it through fetch and commit, so that the new record is
// stored before another process's flight re-reads the store. A lock that
// cannot be taken is logged and the flight goes on without it; if the
// store is unavailable (Redis down), the flight neither reads nor writes
// it, so that a store failing slowly cannot hold up the refresh: the next
// flight stores the session again.
func (m *Manager) lock(ctx context.Context, from *entry) func() {
	if from == nil {
		return func() {}
	}
	start := m.cfg.Now()
	busy := time.AfterFunc(lockPatience, func() { m.cache.LockWaiting(from) })
	lctx, cancel := context.WithTimeout(ctx, m.lockWait(from, start))
	unlock, err := m.cfg.Store.Lock(lctx, m.key(from.Data.username))
	cancel()
	busy.Stop()
	if err != nil {
		m.cfg.Logger.Warn("refreshing without the store's lock", "env", m.cfg.Environment, "error", err)
		return func() {}
	}
	m.emit(Event{Type: EventLockWaited, Username: from.Data.username, Duration: m.cfg.Now().Sub(start)})
	return unlock
}

// lockWait is how long a flight may wait for the lock: lockLimit, and
// while its token is valid at most half the time it stays valid (never
// under lockPatience), so that a frozen store or a silent holder does not
// make the refresh late.
func (m *Manager) lockWait(from *entry, now time.Time) time.Duration {
	if rem := from.Expiry.Sub(now); rem > 0 {
		return min(lockLimit, max(rem/2, lockPatience))
	}
	return lockLimit
}

// fetch is one refresh flight, run under the store's lock ([Manager.lock]):
// it re-reads the stored session, adopts a newer one another process
// stored (refreshing nothing if its token is fresh), and otherwise
// refreshes, retrying transient failures. A refresh token the exchange
// rejects ends the session, or logs in again through [Config.Relogin].
func (m *Manager) fetch(ctx context.Context, from *entry) (*entry, error) {
	d, adopted, err := m.reread(ctx, from)
	if adopted != nil || err != nil {
		return adopted, err
	}
	if !d.refreshExpiry.IsZero() && !m.cfg.Now().Before(d.refreshExpiry) {
		return m.sessionOver(ctx, d, errors.New("the refresh token has expired"), ReasonRefreshExpired)
	}
	why := refreshReason(from)
	resp, sent, err := m.refreshWithRetry(ctx, d, why)
	switch {
	case isRejected(err):
		return m.sessionOver(ctx, d, err, ReasonRejected)
	case err != nil:
		return nil, fmt.Errorf("refreshing the access token: %w", err)
	}
	e, err := m.fromRefresh(d, resp, sent)
	if err != nil {
		m.emit(m.failedEvent(Event{Type: EventRefreshFailed, Username: d.username, Reason: why}, sent, err, 0))
		return nil, fmt.Errorf("refreshing the access token: %w", err)
	}
	m.emit(Event{Type: EventRefreshSucceeded, Username: d.username, Reason: why, Duration: m.cfg.Now().Sub(sent),
		Expiry: e.Expiry, Generation: e.Data.gen})
	return e, nil
}

// reread reads the stored session under the lock. A newer record another
// process stored is adopted: returned as is when its token is fresh, else
// its state is the one to refresh. A record removed since this process
// stored it means a logout elsewhere. A store that cannot be read is
// logged and the refresh goes on with what this process holds.
func (m *Manager) reread(ctx context.Context, from *entry) (sess, *entry, error) {
	d := from.Data
	if m.storeDown.Load() {
		return d, nil, nil
	}
	rec, err := m.cfg.Store.Get(ctx, m.key(d.username))
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		if d.stored != nil {
			m.cfg.Logger.Warn("the stored session was gone (did the store lose its data?): storing it again", "env", m.cfg.Environment)
			d.stored = nil
		}
		return d, nil, nil
	case err != nil:
		m.cfg.Logger.Warn("could not re-read the stored session", "env", m.cfg.Environment, "error", err)
		return d, nil, nil
	case keystore.Same(rec, d.stored) || rec.Generation < d.gen:
		d.stored = rec
		return d, nil, nil
	}
	e := m.fromRecord(rec)
	if e.Err != nil || !e.DueAt(m.cfg.Now()) {
		m.cfg.Logger.Info("adopted the session another process refreshed", "env", m.cfg.Environment, "generation", rec.Generation)
		m.tookUp(e, rec)
		return d, e, nil
	}
	return e.Data, nil, nil
}

// fromRefresh builds the next state from a refresh response, keeping the
// refresh token unless the server rotated it.
func (m *Manager) fromRefresh(d sess, resp *traderapi.RefreshResponse, sent time.Time) (*entry, error) {
	if resp.RefreshToken != "" {
		d.refresh = resp.RefreshToken
		d.refreshExpiry = refreshExpiry(resp.RefreshToken, resp.RefreshIssueTime, resp.RefreshExpirationTime, sent)
	}
	d.gen++
	d.adopted, d.login = false, false
	e, err := m.newEntry(d, issued{token: resp.AccessToken, issueAt: resp.AccessIssueTime, expireAt: resp.AccessExpirationTime, sent: sent})
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	m.cfg.Logger.Info("refreshed access token", "env", m.cfg.Environment, "user", d.username, "lifetime", d.lifetime)
	return e, nil
}

// refreshWithRetry calls refresh_access_token, retrying transient failures
// with capped exponential backoff and full jitter, honouring Retry-After,
// within the configured attempts and time. Each call is one
// EventRefreshStarted and, if it fails, one EventRefreshFailed (a success
// is reported by the caller, which knows the new state). It returns when
// the last call was sent.
func (m *Manager) refreshWithRetry(ctx context.Context, d sess, why Reason) (*traderapi.RefreshResponse, time.Time, error) {
	var resp *traderapi.RefreshResponse
	var sent time.Time
	ev := Event{Username: d.username, Reason: why}
	err := m.retry(ctx, "token refresh", func() (err error) {
		ev.Attempt++
		sent = m.cfg.Now()
		m.emit(withType(ev, EventRefreshStarted))
		resp, err = m.cfg.Client.RefreshAccessToken(ctx, traderapi.RefreshRequest{RefreshToken: d.refresh})
		return err
	}, func(err error, next time.Duration) {
		m.emit(m.failedEvent(withType(ev, EventRefreshFailed), sent, err, next))
	})
	return resp, sent, err
}

// failedEvent completes the event of a failed call sent at sent: its error,
// duration, and when the next call starts (none: the caller gives up, and
// Failures says how many refreshes in a row have failed).
func (m *Manager) failedEvent(ev Event, sent time.Time, err error, next time.Duration) Event {
	now := m.cfg.Now()
	ev.Err = err
	if !sent.IsZero() { // zero: no call was sent (Config.Relogin itself failed)
		ev.Duration = now.Sub(sent)
	}
	if next > 0 {
		ev.NextAttempt = now.Add(next)
	} else {
		n, _ := m.cache.Failures()
		ev.Failures = n + 1
	}
	return ev
}

func withType(e Event, t EventType) Event {
	e.Type = t
	return e
}

// retry runs call until it succeeds, fails for good, or the attempts or
// the time budget run out. After each failed call it calls failed (if set)
// with the wait before the next call, 0 when it gives up.
func (m *Manager) retry(ctx context.Context, what string, call func() error, failed func(err error, next time.Duration)) error {
	if failed == nil {
		failed = func(error, time.Duration) {}
	}
	r := m.cfg.Retry
	deadline := time.Now().Add(r.MaxElapsed)
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if !isTransient(err) || attempt >= r.Attempts {
			failed(err, 0)
			return err
		}
		wait := backoff(r.BaseDelay, r.MaxDelay, attempt, err)
		if time.Until(deadline) < wait {
			failed(err, 0)
			return fmt.Errorf("gave up after %d attempts (next wait %s exceeds the retry budget): %w", attempt, wait.Round(time.Millisecond), err)
		}
		failed(err, wait)
		m.cfg.Logger.Info(what+" failed, retrying", "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s retries stopped: %w (last error: %w)", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}
