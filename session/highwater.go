package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// Generations remembers, per environment and user, the highest generation
// of a stored session this machine has seen, so that a record written back
// from an older copy (a rollback by someone who can write to the store but
// has no key) is refused. See [Config.Generations].
type Generations interface {
	// Seen returns the highest generation recorded (0: none).
	Seen(env, user string) uint64
	// Saw records gen if it is higher than the one recorded.
	Saw(env, user string, gen uint64) error
}

// ErrRolledBack: the stored session is older than one this machine has
// seen (it was written back from a copy); it is refused. Errors that match
// it match [ErrNotLoggedIn] too; their text names the session and both
// generations.
var ErrRolledBack = errors.New("the stored session was rolled back to an older copy")

// rollbackError is a stored session refused because its generation is
// below the highest this machine has seen of it.
type rollbackError struct {
	Environment, Username string
	Stored, Seen          uint64
}

// Error names the session and both generations.
func (e *rollbackError) Error() string {
	return fmt.Sprintf("the stored session of %q in %s is generation %d, older than generation %d this machine has seen: %v; refused",
		e.Username, e.Environment, e.Stored, e.Seen, ErrRolledBack)
}

// Is matches [ErrRolledBack] and [ErrNotLoggedIn].
func (e *rollbackError) Is(target error) bool {
	return target == ErrRolledBack || target == ErrNotLoggedIn
}

// memoryGenerations is the default Generations: this process only.
type memoryGenerations struct {
	mu   sync.Mutex
	seen map[[2]string]uint64
}

func (g *memoryGenerations) Seen(env, user string) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen[[2]string{env, user}]
}

func (g *memoryGenerations) Saw(env, user string, gen uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if k := [2]string{env, user}; gen > g.seen[k] {
		g.seen[k] = gen
	}
	return nil
}

// clockKeeper is implemented by a Generations that also keeps the
// machine's measured clock offset (the one pmx-login and package settings
// use), so that a process
// that has not called the exchange yet converts stored times right.
type clockKeeper interface {
	ClockOffset(env string) (time.Duration, bool)
	SetClockOffset(env string, d time.Duration) error
}

// guarded is the manager's view of its store: a session record older than
// the highest generation seen is refused, and every record read or written
// raises it.
type guarded struct {
	Store
	env  string
	seen Generations
}

func isSession(k keystore.Key) bool { return k.Item == "" || k.Item == keystore.ItemSession }

// Get reads the record and refuses one below the highest generation seen.
// The mark is read before the record: a process records a generation
// only after the store holds it, so a record read after the mark is at
// least as new unless it was written back. (Read after the record, the
// mark could be another process's newer write, recorded between the two
// reads, and refuse a record that was current when read.)
func (g guarded) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	if !isSession(k) {
		return g.Store.Get(ctx, k)
	}
	seen := g.seen.Seen(g.env, k.Username)
	rec, err := g.Store.Get(ctx, k)
	if err != nil {
		return rec, err
	}
	if rec.Generation < seen {
		return nil, &rollbackError{Environment: g.env, Username: k.Username, Stored: rec.Generation, Seen: seen}
	}
	_ = g.seen.Saw(g.env, k.Username, rec.Generation)
	return rec, nil
}

func (g guarded) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	err := g.Store.CompareAndSwap(ctx, k, old, r)
	if err == nil && isSession(k) {
		_ = g.seen.Saw(g.env, k.Username, r.Generation)
	}
	return err
}
