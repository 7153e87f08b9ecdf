package isv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/internal/tokencache"
)

// saveTimeout bounds storing a new token, which goes on after the request
// that got it was given up (other processes are waiting for it).
const saveTimeout = 10 * time.Second

// fetchShared is a token fetch through the shared store: under the
// store's lock it re-reads the stored token and adopts it while it is
// fresh; otherwise it requests one and stores it (compare-and-set), or
// adopts a newer one another process stored meanwhile. A store that
// fails is logged and the process requests on its own.
func (s *Source) fetchShared(ctx context.Context, from *entry) (*entry, error) {
	k := s.cfg.storeKey
	start := s.cfg.now()
	unlock, err := s.cfg.store.Lock(ctx, k)
	s.storeState(err)
	switch {
	case err == nil:
		s.emit(session.Event{Type: session.EventLockWaited, Duration: s.cfg.now().Sub(start)})
		defer unlock()
	case errors.Is(err, keystore.ErrUnavailable):
		// The store is down (Redis): neither read nor write it, so that a
		// store failing slowly cannot hold up the request.
		s.storeWarn(ctx, "isv: the shared store is unavailable; requesting a token on our own", err)
		return s.request(ctx, from)
	case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
		// Not an outage and not a lock held past our wait: the store
		// refused us (a wrong Redis password, a missing permission), a
		// setting to fix rather than to hide.
		return nil, fmt.Errorf("isv: the shared store refused the lock of %s: %w", k, err)
	default:
		s.storeWarn(ctx, "isv: requesting a token without the shared store's lock", err)
	}
	stored, readOK := s.readStored(ctx)
	if e := s.fromRecord(stored, from); e != nil && !e.DueAt(s.cfg.now()) {
		s.adopted.Add(1)
		s.tookUp(stored, e)
		s.cfg.log.LogAttrs(ctx, slog.LevelDebug, "isv: adopted the token another process stored",
			slog.String("client_id", s.cfg.clientID), slog.Uint64("generation", stored.Generation))
		return e, nil
	}
	next, err := s.request(ctx, from)
	if err != nil || !readOK {
		return next, err
	}
	return s.save(ctx, stored, next), nil
}

// readStored returns the stored record (nil: none) and whether the store
// answered.
func (s *Source) readStored(ctx context.Context) (*keystore.Record, bool) {
	rec, err := s.cfg.store.Get(ctx, s.cfg.storeKey)
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		return nil, true
	case err != nil:
		s.storeWarn(ctx, "isv: could not read the shared token; requesting one", err)
		return nil, false
	}
	return rec, true
}

// fromRecord returns an entry for the token in rec, nil if it holds none
// new and usable: none, expired, of unknown lifetime, or the token from
// holds (which is stale, or was rejected: see [Source.Invalidate]).
func (s *Source) fromRecord(rec *keystore.Record, from *entry) *entry {
	if rec == nil || rec.AccessToken.IsZero() || rec.AccessExpiry.IsZero() {
		return nil
	}
	if from != nil && from.Token == rec.AccessToken {
		return nil
	}
	lifetime := rec.AccessLifetime
	if lifetime <= 0 {
		lifetime, _ = tokenLifetime(tokenResponse{AccessToken: rec.AccessToken})
	}
	now := s.cfg.now()
	left := rec.AccessExpiry.Sub(now)
	if lifetime <= 0 || left <= 0 {
		return nil
	}
	data := grantInfo{scope: isvkit.TokenScopes(rec.AccessToken.Reveal()), lifetime: lifetime}
	return s.cache.NewEntry(rec.AccessToken, data, tokencache.Schedule{From: now.Add(left - lifetime), Lifetime: lifetime})
}

// save stores next over old (compare-and-set, generation + 1). When
// another process stored a token meanwhile, its token is adopted if still
// usable; a store that fails is logged and next is kept.
func (s *Source) save(ctx context.Context, old *keystore.Record, next *entry) *entry {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	rec := s.record(next, generation(old)+1)
	err := s.cfg.store.CompareAndSwap(ctx, s.cfg.storeKey, old, rec)
	var ce *keystore.ConflictError
	switch {
	case err == nil:
		return next
	case errors.As(err, &ce):
		if e := s.fromRecord(ce.Current, nil); e != nil && generation(ce.Current) >= rec.Generation {
			s.adopted.Add(1)
			s.tookUp(ce.Current, e)
			s.cfg.log.LogAttrs(ctx, slog.LevelInfo, "isv: another process stored a token meanwhile; adopting it",
				slog.String("client_id", s.cfg.clientID), slog.Uint64("generation", ce.Current.Generation))
			return e
		}
	}
	s.storeWarn(ctx, "isv: could not store the new token for the other processes", err)
	return next
}

// record is what the store keeps for e: the token, its expiry and
// lifetime, no refresh token (client credentials have none).
func (s *Source) record(e *entry, gen uint64) *keystore.Record {
	return &keystore.Record{
		Environment:    s.cfg.storeKey.Environment,
		Username:       s.cfg.storeKey.Username,
		AccessToken:    e.Token,
		AccessExpiry:   e.Expiry,
		AccessLifetime: e.Data.lifetime,
		Generation:     gen,
		SavedAt:        s.cfg.now().Round(0).UTC(),
	}
}

// storeWarn logs a store failure; the error names the store and key,
// never a token.
func (s *Source) storeWarn(ctx context.Context, msg string, err error) {
	s.cfg.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("client_id", s.cfg.clientID),
		slog.String("key", s.cfg.storeKey.String()), slog.String("error", err.Error()))
}

func generation(r *keystore.Record) uint64 {
	if r == nil {
		return 0
	}
	return r.Generation
}

// entry is the cache's entry type.
type entry = tokencache.Entry[grantInfo]
