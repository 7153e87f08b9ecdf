package session

import (
	"errors"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/internal/eventq"
	"github.com/pmx-login/pmx-login/traderapi"
)

// defaultEventBuffer is Config.EventBuffer's default.
const defaultEventBuffer = 1024

// newEventQueue returns the queue that delivers events to obs (nil: no
// observer, nothing runs).
func newEventQueue(obs Observer, size int) *eventq.Queue[Event] {
	if obs == nil {
		return nil
	}
	if size <= 0 {
		size = defaultEventBuffer
	}
	return eventq.New(size, func(e Event, dropped uint64) {
		e.Dropped = dropped
		obs.Observe(e)
	})
}

// emit logs e where its type has a log line (see logEvent) and queues it
// for Config.Events. It fills in the time, origin, environment, user,
// kind and status. It is never called on the token hot path.
func (m *Manager) emit(e Event) {
	e.Origin, e.Environment = OriginSession, m.cfg.Environment
	if e.Username == "" {
		e.Username = m.username()
	}
	if e.Err != nil {
		e.Kind = Classify(e.Err)
		if e.Status == 0 {
			e.Status = statusOf(e.Err)
		}
	}
	m.logEvent(e)
	if m.events.Enabled() {
		e.Time = m.cfg.Now()
		m.events.Push(e)
	}
}

// logEvent writes the stable log lines of the README's "Logs and events":
// a session that ends is an ERROR, a refresh that gives up a WARN, a
// relogin an INFO (its failures a WARN).
func (m *Manager) logEvent(e Event) {
	l := m.cfg.Logger
	switch e.Type {
	case EventSessionEnded:
		l.Error("session ended", "env", e.Environment, "user", e.Username, "reason", string(e.Reason), "error", e.Err)
	case EventRefreshFailed:
		if e.NextAttempt.IsZero() && e.Kind != KindRejected { // a rejection is the ERROR that follows
			l.Warn("token refresh failed", "env", e.Environment, "user", e.Username, "kind", e.Kind.String(),
				"status", e.Status, "failures", e.Failures, "error", e.Err)
		}
	case EventReloginSucceeded:
		l.Info("logged in again", "env", e.Environment, "user", e.Username, "generation", e.Generation)
	case EventReloginFailed:
		l.Warn("re-login failed", "env", e.Environment, "user", e.Username, "kind", e.Kind.String(), "error", e.Err)
	case EventStoreUnavailable:
		l.Warn("store unavailable", "env", e.Environment, "error", e.Err)
	case EventStoreBack:
		l.Info("store back", "env", e.Environment, "outage", e.Duration)
	}
}

// statusOf is the HTTP status in err (0: none).
func statusOf(err error) int {
	var ae *traderapi.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// refreshReason says why a flight from e refreshes.
func refreshReason(e *entry) Reason {
	switch {
	case e.Fresh():
		return ReasonForced
	case !e.Usable():
		return ReasonExpired
	}
	return ReasonStale
}

// tookUp reports an entry built from another process's record: a token
// taken up, or the end of the session it records.
func (m *Manager) tookUp(e *entry, rec *keystore.Record) {
	if e.Err == nil {
		m.emit(Event{Type: EventTokenTakenUp, Username: rec.Username, Generation: rec.Generation,
			SavedAt: rec.SavedAt, Expiry: rec.AccessExpiry})
		return
	}
	reason := ReasonEndedElsewhere
	if rec.LoggedOut {
		reason = ReasonLoggedOutElsewhere
	}
	m.emit(Event{Type: EventSessionEnded, Username: rec.Username, Reason: reason, Generation: rec.Generation, Err: e.Err})
}

// storeState tracks the store's availability for EventStoreUnavailable and
// EventStoreBack: one event per outage.
func (m *Manager) storeState(err error) {
	down := errors.Is(err, keystore.ErrUnavailable)
	was := m.storeDown.Swap(down)
	switch {
	case down && !was:
		m.downSince.Store(m.cfg.Now().UnixNano())
		m.emit(Event{Type: EventStoreUnavailable, Err: err})
	case !down && was:
		m.emit(Event{Type: EventStoreBack, Duration: time.Duration(m.cfg.Now().UnixNano() - m.downSince.Load())})
	}
}
