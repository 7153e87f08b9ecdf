package isv

import (
	"errors"
	"net/url"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/internal/eventq"
	"github.com/pmx-login/pmx-login/traderapi"
)

// newEvents returns the queue that delivers the Source's events to obs
// (nil: none, nothing runs); see [session.Observer].
func newEvents(obs session.Observer, size int) *eventq.Queue[session.Event] {
	if obs == nil {
		return nil
	}
	if size <= 0 {
		size = 1024
	}
	return eventq.New(size, func(e session.Event, dropped uint64) {
		e.Dropped = dropped
		obs.Observe(e)
	})
}

// emit queues e for Config.Events, filling in what every event of the
// Source carries. It is never called on the token hot path.
func (s *Source) emit(e session.Event) {
	if !s.events.Enabled() {
		return
	}
	e.Time, e.Origin, e.Username = s.cfg.now(), session.OriginISV, s.cfg.clientID
	if e.Environment = s.cfg.env; e.Environment == "" {
		if u, err := url.Parse(s.cfg.tokenURL); err == nil {
			e.Environment = u.Host
		}
	}
	if e.Err != nil {
		e.Kind = session.Classify(e.Err)
		if ae, ok := errors.AsType[*traderapi.APIError](e.Err); ok && e.Status == 0 {
			e.Status = ae.StatusCode
		}
	}
	s.events.Push(e)
}

// reason says why a token request from e runs.
func reason(e *entry) session.Reason {
	switch {
	case e.Fresh():
		return session.ReasonForced
	case !e.Usable():
		return session.ReasonExpired
	}
	return session.ReasonStale
}

// storeState reports the shared store's outages: one
// EventStoreUnavailable when it stops answering, one EventStoreBack when
// it answers again.
func (s *Source) storeState(err error) {
	down := errors.Is(err, keystore.ErrUnavailable)
	was := s.storeDown.Swap(down)
	switch {
	case down && !was:
		s.downSince.Store(s.cfg.now().UnixNano())
		s.emit(session.Event{Type: session.EventStoreUnavailable, Err: err})
	case !down && was:
		s.emit(session.Event{Type: session.EventStoreBack,
			Duration: time.Duration(s.cfg.now().UnixNano() - s.downSince.Load())})
	}
}

// tookUp reports a token another process stored, taken up instead of a
// request.
func (s *Source) tookUp(rec *keystore.Record, e *entry) {
	s.emit(session.Event{Type: session.EventTokenTakenUp, Generation: rec.Generation, SavedAt: rec.SavedAt, Expiry: e.Expiry})
}
