package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// it match [ErrNotLoggedIn] too. See [RollbackError].
var ErrRolledBack = errors.New("the stored session was rolled back to an older copy")

// RollbackError is a stored session refused because its generation is
// below the highest this machine has seen of it.
type RollbackError struct {
	Environment, Username string
	Stored, Seen          uint64
}

// Error names the session and both generations.
func (e *RollbackError) Error() string {
	return fmt.Sprintf("the stored session of %q in %s is generation %d, older than generation %d this machine has seen: %v; refused",
		e.Username, e.Environment, e.Stored, e.Seen, ErrRolledBack)
}

// Is matches [ErrRolledBack] and [ErrNotLoggedIn].
func (e *RollbackError) Is(target error) bool {
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

// GenerationFile is a [Generations] kept in a directory of small 0600
// files, one per environment and user, shared by the processes of one
// machine (one OS user). Two processes raising the same entry at the same
// instant may keep the lower of their two generations: the check is then
// one write behind, never wrong the other way.
type GenerationFile struct{ dir string }

// NewGenerationFile returns a GenerationFile in dir (created 0700 on the
// first write).
func NewGenerationFile(dir string) *GenerationFile { return &GenerationFile{dir: dir} }

func (g *GenerationFile) path(env, user string) string {
	return filepath.Join(g.dir, url.PathEscape(env)+"@"+url.PathEscape(user))
}

// Seen reads the recorded generation; an entry missing or unreadable is 0.
func (g *GenerationFile) Seen(env, user string) uint64 {
	b, err := os.ReadFile(g.path(env, user))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// Saw writes gen if it is higher than the recorded one (write and rename).
func (g *GenerationFile) Saw(env, user string, gen uint64) error {
	if gen <= g.Seen(env, user) {
		return nil
	}
	return g.write(g.path(env, user), strconv.FormatUint(gen, 10))
}

// ClockOffset returns the exchange's clock minus this machine's for env,
// as a manager on this machine last measured it, and whether one did.
func (g *GenerationFile) ClockOffset(env string) (time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(g.dir, "clock@"+url.PathEscape(env)))
	if err != nil {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	return d, err == nil
}

// SetClockOffset records a measured offset for env.
func (g *GenerationFile) SetClockOffset(env string, d time.Duration) error {
	return g.write(filepath.Join(g.dir, "clock@"+url.PathEscape(env)), d.String())
}

// write replaces the file at path with line (write and rename, 0600).
func (g *GenerationFile) write(path, line string) error {
	if err := os.MkdirAll(g.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(g.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(line + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// clockKeeper is implemented by a Generations that also keeps the
// machine's measured clock offset ([GenerationFile]), so that a process
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
		return nil, &RollbackError{Environment: g.env, Username: k.Username, Stored: rec.Generation, Seen: seen}
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
