package session

import (
	"strconv"
	"time"
)

// Observer receives the events of a [Manager] (or of an isv.Source): set
// it as [Config.Events]. The manager never calls Observe while it holds a
// lock or from the token hot path: events go into a bounded queue
// ([Config.EventBuffer]) that one goroutine empties, calling Observe with
// one event at a time, in the order they happened. An Observe that is slow
// or blocks delays only the events after it: when the queue is full, new
// events are dropped and counted (see [Event.Dropped]), and the manager
// goes on. [Manager.Close] waits up to 2 s for the queued events to be
// delivered.
type Observer interface {
	Observe(Event)
}

// ObserverFunc is a func as an [Observer].
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an Observer that hands each event to every one of obs
// in turn (nil ones are skipped), such as the metrics package's recorder
// and a program's own hook.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}

// EventType says what happened; see the constants. Its String is the
// stable snake_case name used in logs and metrics ("refresh_failed").
type EventType uint8

// The events. Every call the manager makes to the exchange's
// refresh_access_token has exactly one EventRefreshStarted and then one
// EventRefreshSucceeded or EventRefreshFailed; every login call made by
// [Config.Relogin]'s re-login has one EventReloginStarted and then one
// EventReloginSucceeded or EventReloginFailed.
const (
	// EventRefreshStarted: a call to the token endpoint is about to be
	// sent. Attempt is 1 for the first call of a refresh and counts the
	// retries; Reason says why the refresh runs.
	EventRefreshStarted EventType = iota + 1
	// EventRefreshSucceeded: a new access token. Duration is the call's,
	// Expiry the new token's expiry, Generation the new state's.
	EventRefreshSucceeded
	// EventRefreshFailed: the call failed. Kind, Status and Err say how;
	// Attempt which call it was; NextAttempt when the next call may start
	// (zero: this refresh gives up; the session goes on unless
	// EventSessionEnded follows). Failures counts failed refreshes in a
	// row, including this one, when the refresh gives up.
	EventRefreshFailed
	// EventReloginStarted: the refresh token was rejected and the manager
	// asks [Config.Relogin] for credentials and logs in again. Attempt
	// counts the tries within this relogin.
	EventReloginStarted
	// EventReloginSucceeded: the relogin gave a new session; Expiry and
	// Generation are the new state's.
	EventReloginSucceeded
	// EventReloginFailed: one try failed (Kind, Status, Err); NextAttempt
	// as for EventRefreshFailed.
	EventReloginFailed
	// EventSessionEnded: the session is over; Reason says why
	// ([ReasonRejected], [ReasonExpired], [ReasonLoggedOut],
	// [ReasonLoggedOutElsewhere], [ReasonEndedElsewhere]) and Err is what
	// [Manager.Token] now returns.
	EventSessionEnded
	// EventTokenTakenUp: this process took up a token another process
	// stored (shared store) instead of calling the exchange. Generation
	// and SavedAt are the stored record's; Expiry is its token's.
	EventTokenTakenUp
	// EventStoreUnavailable: the store stopped answering (Redis down, the
	// keychain locked); Err says how. Sent once per outage.
	EventStoreUnavailable
	// EventStoreBack: the store answers again after
	// EventStoreUnavailable; Duration is how long it was out.
	EventStoreBack
	// EventLockWaited: a refresh took the store's cross-process lock;
	// Duration is how long it waited for it.
	EventLockWaited
	// EventUnauthorizedRetried: an API call through [Manager.Transport]
	// got a 401; the transport dropped that token, and retried the request
	// once with a new one. Method and Path name the request (the path
	// only: no query, no body); Status is the retry's status (0: it was
	// not sent: the new token could not be had, Err says why).
	EventUnauthorizedRetried

	eventTypes = iota + 1 // one past the last type
)

var eventNames = [eventTypes]string{
	EventRefreshStarted: "refresh_started", EventRefreshSucceeded: "refresh_succeeded",
	EventRefreshFailed: "refresh_failed", EventReloginStarted: "relogin_started",
	EventReloginSucceeded: "relogin_succeeded", EventReloginFailed: "relogin_failed",
	EventSessionEnded: "session_ended", EventTokenTakenUp: "token_taken_up",
	EventStoreUnavailable: "store_unavailable", EventStoreBack: "store_back",
	EventLockWaited: "lock_waited", EventUnauthorizedRetried: "unauthorized_retried",
}

// String is the type's stable name, such as "refresh_failed".
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "event_" + strconv.Itoa(int(t))
}

// Reason says why a refresh ran or why a session ended. The values are
// stable strings, fit for a metric's attribute.
type Reason string

// Why a refresh ran (EventRefreshStarted and what follows it).
const (
	// ReasonStale: the token is within the margin of its expiry.
	ReasonStale Reason = "stale"
	// ReasonExpired: the token expired, or the exchange answered 401 to
	// it ([Manager.Transport]); callers are waiting.
	ReasonExpired Reason = "expired"
	// ReasonForced: [Manager.Refresh] asked for a new token while the
	// current one was fresh.
	ReasonForced Reason = "forced"
	// ReasonLogout: [Manager.Logout] refreshed an expired token to revoke
	// the session.
	ReasonLogout Reason = "logout"
)

// Why a session ended (EventSessionEnded).
const (
	// ReasonRejected: the exchange rejected the refresh token (a 401 with
	// its own error) and no relogin succeeded.
	ReasonRejected Reason = "rejected"
	// ReasonRefreshExpired: the refresh token was past its expiry.
	ReasonRefreshExpired Reason = "refresh_expired"
	// ReasonLoggedOut: [Manager.Logout] in this process.
	ReasonLoggedOut Reason = "logged_out"
	// ReasonLoggedOutElsewhere: another process sharing the store logged
	// the session out.
	ReasonLoggedOutElsewhere Reason = "logged_out_elsewhere"
	// ReasonEndedElsewhere: another process sharing the store found the
	// session rejected or expired.
	ReasonEndedElsewhere Reason = "ended_elsewhere"
)

// Origin names what sent an event.
type Origin string

// The origins.
const (
	// OriginSession: a [Manager] (a trader's session).
	OriginSession Origin = "session"
	// OriginISV: an isv.Source (a partner's client credentials).
	OriginISV Origin = "isv"
)

// Event is one thing that happened to a session. It never holds a secret:
// no token, password, code or key (Err is built like every error of this
// module, without them). Fields that do not apply to a Type are zero.
type Event struct {
	Type EventType
	// Time is when it happened, by [Config.Now].
	Time time.Time
	// Origin says whether a Manager or an isv.Source sent it.
	Origin Origin
	// Environment is the manager's environment (an isv.Source: its
	// Config.Environment, else the token endpoint's host).
	Environment string
	// Username is the session's user (an isv.Source: its client ID). It
	// is for logs; metrics leave it out.
	Username string
	// Reason: why a refresh ran, or why the session ended.
	Reason Reason
	// Attempt numbers the calls of one refresh or relogin, from 1.
	Attempt int
	// Duration: of the call (refresh, relogin), of the wait for the lock
	// (EventLockWaited), of the outage (EventStoreBack).
	Duration time.Duration
	// Expiry is the access token's expiry, wall clock (new or taken up).
	Expiry time.Time
	// Generation is the session state's generation (see keystore.Record).
	Generation uint64
	// SavedAt is when another process stored the record taken up.
	SavedAt time.Time
	// Status is the HTTP status of a failed call (0: none, such as a
	// network error), or the retried request's (EventUnauthorizedRetried).
	Status int
	// Kind is [Classify] of Err.
	Kind Kind
	// Err is the failure, or why the session ended.
	Err error
	// NextAttempt is when the next call may start after a failure (zero:
	// none planned by this refresh).
	NextAttempt time.Time
	// Failures is how many refreshes in a row have failed, on the
	// EventRefreshFailed that ends a refresh.
	Failures int
	// Method and Path name the API request of EventUnauthorizedRetried.
	Method, Path string
	// Dropped is how many events were dropped, because the queue was
	// full, since the one delivered before this.
	Dropped uint64
}
