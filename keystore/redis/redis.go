package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
)

// Store is a [keystore.Store] shared by every process that reaches one Redis (a
// single node, a Sentinel-managed master or a Cluster) through a
// [goredis.UniversalClient]. Redis 7.0 or newer is required (the write
// scripts use SPUBLISH).
//
// Layout, under a prefix (default "pmx:v1"): one hash per entry,
// "pmx:v1:{env:user}:session" or "...:totp", whose fields are all plain
// text but the record: "g" the generation, "k" the id of the key that
// encrypted it, "c" the AES-256-GCM ciphertext of the record (nonce
// first), "t" when it was saved and "b" who saved it ([WithSavedBy]).
// The lease lock of an entry is "...:session:lock" and its change channel
// "...:session:changed"; the braces keep every key of a session in one
// Cluster hash slot. The last user of an environment is "pmx:v1:last:{env}",
// written after the record. The associated data of each ciphertext binds
// it to its environment, user, item, generation and key id, so that a
// record cannot be swapped with another or rolled back to an older
// generation's slot.
//
// Every write runs in a Lua script that publishes a change notice (the new
// generation, or "deleted") on the entry's channel; [Store.Watch] turns
// these into wake-ups. [Store.CompareAndSwap] is fenced by generation: it
// writes only if the stored generation is old's (or nothing is stored when
// old is nil) and the new generation is higher. No write replaces a
// record encrypted with a key this store does not hold (a process with a
// wrong key file gets an error matching [ErrWrongKey] and the record stays); [Store.Delete]
// still removes it, to start over after a key is lost. Redis is not a secret
// store, and nothing in it is readable without the key.
type Store struct {
	rdb    goredis.UniversalClient
	seal   *sealer
	cfg    config
	closer func() error
}

// config holds what the options set.
type config struct {
	prefix  string
	savedBy string
	lease   time.Duration
	noRenew bool // tests: a holder that stalls (its renewals stop)
	poll    time.Duration
	now     func() time.Time
	older   []*EncryptionKey
	name    string
}

// Option configures [New] and [Open].
type Option func(*config) error

// WithOlderKeys adds keys that decrypt records written before a key
// rotation; new records are always encrypted with the main key.
func WithOlderKeys(keys ...*EncryptionKey) Option {
	return func(c *config) error { c.older = append(c.older, keys...); return nil }
}

// WithSavedBy sets who the records and locks this store writes name as
// their writer (default: hostname/pid). It is stored in plain text.
func WithSavedBy(who string) Option {
	return func(c *config) error {
		if len(who) > 256 || strings.ContainsAny(who, "\r\n") {
			return errors.New("keystore: WithSavedBy: at most 256 bytes on one line")
		}
		c.savedBy = who
		return nil
	}
}

// defaultLockLease is the lock's lease unless [WithLockLease] says
// otherwise: what a dead lock holder costs the other processes, at most.
const defaultLockLease = 3 * time.Second

// WithLockLease sets the lease of a [Store.Lock] (default 3 s): the
// holder renews it every third of it while it holds the lock, so a holder
// that dies or stalls (SIGKILL, SIGSTOP) loses the lock at most one lease
// after its last renewal.
func WithLockLease(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("keystore: WithLockLease(%s): the lease must be at least 10ms", d)
		}
		c.lease = d
		return nil
	}
}

// WithWatchPoll sets how often [Store.Watch] polls the generation as a
// backstop for lost change notices (default 5 s).
func WithWatchPoll(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("keystore: WithWatchPoll(%s): the interval must be at least 1ms", d)
		}
		c.poll = d
		return nil
	}
}

// WithKeyPrefix sets the prefix of every Redis key (default "pmx:v1"), so
// that several deployments can share one Redis.
func WithKeyPrefix(p string) Option {
	return func(c *config) error {
		if p == "" || strings.ContainsAny(p, "{} \r\n") {
			return fmt.Errorf("keystore: WithKeyPrefix(%q): a prefix is not empty and holds no braces or spaces", p)
		}
		c.prefix = p
		return nil
	}
}

// New returns a store over rdb that encrypts records with key and
// decrypts them with key or the keys of [WithOlderKeys]. The caller keeps
// ownership of rdb ([Store.Close] does not close it).
func New(rdb goredis.UniversalClient, key *EncryptionKey, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("keystore: redis.New: no Redis client given")
	}
	host, _ := os.Hostname()
	cfg := config{
		prefix: "pmx:v1", savedBy: host + "/" + strconv.Itoa(os.Getpid()),
		lease: defaultLockLease, poll: 5 * time.Second, now: time.Now, name: clientName(rdb),
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	s, err := newSealer(key, cfg.older)
	if err != nil {
		return nil, err
	}
	s.prefix = cfg.prefix
	return &Store{rdb: rdb, seal: s, cfg: cfg, closer: func() error { return nil }}, nil
}

// Backend returns "redis".
func (s *Store) Backend() string { return "redis" }

// Close closes the Redis client if [Open] made it.
func (s *Store) Close() error { return s.closer() }

// String names the backend and its Redis addresses, never a password.
func (s *Store) String() string { return "redis store at " + s.cfg.name }

// clientName lists the addresses rdb connects to, for messages.
func clientName(rdb goredis.UniversalClient) string {
	switch c := rdb.(type) {
	case *goredis.Client:
		return c.Options().Addr
	case *goredis.ClusterClient:
		return "cluster " + strings.Join(c.Options().Addrs, ",")
	}
	return "redis"
}

// What a failed Redis command was, to branch on with [errors.Is]. The error
// names Redis, the operation and the cause, never a password.
var (
	// ErrUnavailable: Redis is unreachable, down, in failover or did not
	// answer in time. Errors that match it match [keystore.ErrUnavailable]
	// too: they say nothing about whether a session is stored.
	ErrUnavailable = errors.New("redis unavailable")
	// ErrRefused: Redis refused the connection's user or password, or its
	// ACL refused a command (WRONGPASS, NOAUTH, NOPERM): a wrong setting to
	// fix, not an outage to wait out.
	ErrRefused = errors.New("redis refused the user, password or command")
)

// commandError is a Redis command that failed.
type commandError struct {
	// Addr names the Redis the store talks to.
	Addr string
	// Op is what was being done.
	Op string
	// Err is go-redis's error.
	Err error
}

// Error names Redis, the operation and the cause.
func (e *commandError) Error() string {
	return fmt.Sprintf("keystore: redis at %s: %s: %v", e.Addr, e.Op, e.Err)
}

// Is matches [ErrRefused] when Redis refused the user, password or
// command, else [ErrUnavailable] and [keystore.ErrUnavailable].
func (e *commandError) Is(target error) bool {
	if e.refused() {
		return target == ErrRefused
	}
	return target == ErrUnavailable || target == keystore.ErrUnavailable
}

// refused reports whether Redis refused the credentials or a command
// (WRONGPASS, NOAUTH, NOPERM): the URL's user or password, or the ACL, is
// wrong.
func (e *commandError) refused() bool {
	var re goredis.Error
	if !errors.As(e.Err, &re) {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "NOPERM")
}

// Unwrap returns go-redis's error.
func (e *commandError) Unwrap() error { return e.Err }

// A canceled call is the caller's doing; a deadline that passed while
// Redis did not answer (a frozen server) is Redis's failure ([ErrUnavailable]).
func (s *Store) fail(op string, k keystore.Key, err error) error {
	return s.failOn(op+" "+k.String(), err)
}

// failOn is fail for an operation named in full.
func (s *Store) failOn(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("keystore: redis %s: %w", op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer before the deadline (is Redis frozen or overloaded?): %w", err)
	}
	return &commandError{Addr: s.cfg.name, Op: op, Err: err}
}

// base returns the entry's key: prefix:{env:user}:item.
func (s *Store) base(k keystore.Key) string {
	item := k.Item
	if item == "" {
		item = keystore.ItemSession
	}
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
	return s.cfg.prefix + ":{" + k.Environment + ":" + r.Replace(k.Username) + "}:" + string(item)
}

func (s *Store) lockKey(k keystore.Key) string { return s.base(k) + ":lock" }
func (s *Store) channel(k keystore.Key) string { return s.base(k) + ":changed" }
func (s *Store) lastKey(env string) string     { return s.cfg.prefix + ":last:{" + env + "}" }

var _ keystore.Store = (*Store)(nil)
