// Package metrics turns a session's events into OpenTelemetry metrics: a
// [Recorder] is a session.Observer (set it as session.Config.Events or
// isv.Config.Events) that records refreshes by result and reason, their
// duration, the seconds until the token expires, the session's state,
// relogins, the store's availability, lock waits and the 401s retried.
//
// It imports the OpenTelemetry metric API only: the program chooses the SDK
// and exporter. [Table] lists the instruments with their Prometheus names
// and [Measure] says what one event adds, so that another exporter (the
// pmx-login agent's /metrics) is built from the same table. No attribute
// holds a username, a token, a host or a process id.
package metrics

import (
	"strings"

	"github.com/pmx-login/pmx-login/session"
)

// Kind is how an instrument aggregates.
type Kind uint8

// The kinds of instrument.
const (
	// Counter adds up a measurement's values.
	Counter Kind = iota + 1
	// Histogram records each value (seconds) in buckets.
	Histogram
	// Gauge holds the last value set for each set of attributes.
	Gauge
)

// Instrument describes one metric.
type Instrument struct {
	// Name is the OpenTelemetry name ("pmx.session.refreshes").
	Name string
	// Prometheus is the name in the Prometheus text format
	// ("pmx_session_refreshes_total").
	Prometheus string
	Kind       Kind
	// Unit is the UCUM unit ("s", "{refresh}").
	Unit        string
	Description string
	// Attributes are the attribute keys its measurements carry.
	Attributes []string
}

// The instruments' OpenTelemetry names.
const (
	Refreshes          = "pmx.session.refreshes"
	RefreshFailures    = "pmx.session.refresh.failures"
	RefreshDuration    = "pmx.session.refresh.duration"
	TokenExpiry        = "pmx.session.token.expiry"
	TokenRemaining     = "pmx.session.token.remaining"
	State              = "pmx.session.state"
	Relogins           = "pmx.session.relogins"
	Ended              = "pmx.session.ended"
	TakenUp            = "pmx.session.taken_up"
	StoreAvailable     = "pmx.session.store.available"
	StoreOutages       = "pmx.session.store.outages"
	LockWait           = "pmx.session.lock.wait"
	UnauthorizedRetrys = "pmx.session.unauthorized_retried"
	EventsDropped      = "pmx.session.events.dropped"
)

// States are the values of the state attribute of [State]: one of them
// is 1, the others 0.
var states = [...]string{"none", "active", "retrying", "ended"}

// Buckets are the histograms' bucket bounds, in seconds.
func Buckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}

// Table returns every instrument, in a stable order. Every measurement
// also carries the attribute "origin" ("session" or "isv").
func Table() []Instrument {
	o := "origin"
	return []Instrument{
		{Refreshes, "pmx_session_refreshes_total", Counter, "{refresh}", "Calls to the token endpoint, by result and why they ran.", []string{o, "result", "reason"}},
		{RefreshFailures, "pmx_session_refresh_failures_total", Counter, "{refresh}", "Failed calls to the token endpoint, by kind of failure.", []string{o, "kind"}},
		{RefreshDuration, "pmx_session_refresh_duration_seconds", Histogram, "s", "Duration of each call to the token endpoint.", []string{o, "result"}},
		{TokenExpiry, "pmx_session_token_expiry_timestamp_seconds", Gauge, "s", "When the current access token expires, Unix seconds (0: none).", []string{o}},
		{TokenRemaining, "pmx_session_token_remaining_seconds", Gauge, "s", "Seconds until the current access token expires, at collection (0: none valid).", []string{o}},
		{State, "pmx_session_state", Gauge, "1", "The session's state: 1 for the current one of none, active, retrying, ended.", []string{o, "state"}},
		{Relogins, "pmx_session_relogins_total", Counter, "{login}", "Automatic relogins' login calls, by result.", []string{o, "result"}},
		{Ended, "pmx_session_ended_total", Counter, "{session}", "Sessions that ended, by why.", []string{o, "reason"}},
		{TakenUp, "pmx_session_taken_up_total", Counter, "{token}", "Tokens taken up from another process through the shared store.", []string{o}},
		{StoreAvailable, "pmx_session_store_available", Gauge, "1", "1 while the store answers, 0 during an outage.", []string{o}},
		{StoreOutages, "pmx_session_store_outages_total", Counter, "{outage}", "Times the store stopped answering.", []string{o}},
		{LockWait, "pmx_session_lock_wait_seconds", Histogram, "s", "Wait for the store's cross-process refresh lock.", []string{o}},
		{UnauthorizedRetrys, "pmx_session_unauthorized_retried_total", Counter, "{request}", "API requests answered 401 and retried once with a new token, by the retry's status class.", []string{o, "status"}},
		{EventsDropped, "pmx_session_events_dropped_total", Counter, "{event}", "Events dropped because the observer was slow.", []string{o}},
	}
}

// kindLabel is a Kind as an attribute value: "rate_limited".
func kindLabel(k session.Kind) string { return strings.ReplaceAll(k.String(), " ", "_") }

// statusClass is an HTTP status as an attribute value: "2xx", or
// "not_sent" for none.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "not_sent"
	}
	return string(rune('0'+status/100)) + "xx"
}
