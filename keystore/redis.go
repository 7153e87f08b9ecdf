package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// BackendRedis names the [Redis] backend.
const BackendRedis = "redis"

// Redis is a [Store] shared by every process that reaches one Redis (a
// single node, a Sentinel-managed master or a Cluster) through a
// [redis.UniversalClient]. Redis 7.0 or newer is required (the write
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
// generation, or "deleted") on the entry's channel; [Redis.Watch] turns
// these into wake-ups. [Redis.CompareAndSwap] is fenced by generation: it
// writes only if the stored generation is old's (or nothing is stored when
// old is nil) and the new generation is higher. No write replaces a
// record encrypted with a key this store does not hold (a process with a
// wrong key file gets a [*DecryptError] and the record stays); [Redis.Delete]
// still removes it, to start over after a key is lost. Redis is not a secret
// store, and nothing in it is readable without the key.
type Redis struct {
	rdb    redis.UniversalClient
	seal   *sealer
	cfg    redisConfig
	closer func() error
}

// redisConfig holds what the options set.
type redisConfig struct {
	prefix  string
	savedBy string
	lease   time.Duration
	poll    time.Duration
	now     func() time.Time
	older   []*EncryptionKey
	name    string
}

// RedisOption configures [NewRedis] and [OpenRedis].
type RedisOption func(*redisConfig) error

// WithOlderKeys adds keys that decrypt records written before a key
// rotation; new records are always encrypted with the main key.
func WithOlderKeys(keys ...*EncryptionKey) RedisOption {
	return func(c *redisConfig) error { c.older = append(c.older, keys...); return nil }
}

// WithSavedBy sets who the records and locks this store writes name as
// their writer (default: hostname/pid). It is stored in plain text.
func WithSavedBy(who string) RedisOption {
	return func(c *redisConfig) error {
		if len(who) > 256 || strings.ContainsAny(who, "\r\n") {
			return errors.New("keystore: WithSavedBy: at most 256 bytes on one line")
		}
		c.savedBy = who
		return nil
	}
}

// WithLockLease sets how long a [Redis.Lock] holds the lock at most: a
// holder that dies or stalls loses it after this long (default 10 s).
func WithLockLease(d time.Duration) RedisOption {
	return func(c *redisConfig) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("keystore: WithLockLease(%s): the lease must be at least 10ms", d)
		}
		c.lease = d
		return nil
	}
}

// WithWatchPoll sets how often [Redis.Watch] polls the generation as a
// backstop for lost change notices (default 5 s).
func WithWatchPoll(d time.Duration) RedisOption {
	return func(c *redisConfig) error {
		if d < time.Millisecond {
			return fmt.Errorf("keystore: WithWatchPoll(%s): the interval must be at least 1ms", d)
		}
		c.poll = d
		return nil
	}
}

// WithKeyPrefix sets the prefix of every Redis key (default "pmx:v1"), so
// that several deployments can share one Redis.
func WithKeyPrefix(p string) RedisOption {
	return func(c *redisConfig) error {
		if p == "" || strings.ContainsAny(p, "{} \r\n") {
			return fmt.Errorf("keystore: WithKeyPrefix(%q): a prefix is not empty and holds no braces or spaces", p)
		}
		c.prefix = p
		return nil
	}
}

// WithRedisClock sets the clock that stamps records without a SavedAt.
func WithRedisClock(now func() time.Time) RedisOption {
	return func(c *redisConfig) error {
		if now == nil {
			return errors.New("keystore: WithRedisClock(nil)")
		}
		c.now = now
		return nil
	}
}

// NewRedis returns a store over rdb that encrypts records with key and
// decrypts them with key or the keys of [WithOlderKeys]. The caller keeps
// ownership of rdb ([Redis.Close] does not close it).
func NewRedis(rdb redis.UniversalClient, key *EncryptionKey, opts ...RedisOption) (*Redis, error) {
	if rdb == nil {
		return nil, errors.New("keystore: NewRedis: no Redis client given")
	}
	host, _ := os.Hostname()
	cfg := redisConfig{
		prefix: "pmx:v1", savedBy: host + "/" + strconv.Itoa(os.Getpid()),
		lease: 10 * time.Second, poll: 5 * time.Second, now: time.Now, name: clientName(rdb),
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
	return &Redis{rdb: rdb, seal: s, cfg: cfg, closer: func() error { return nil }}, nil
}

// Backend returns "redis".
func (s *Redis) Backend() string { return BackendRedis }

// Client returns the Redis client the store uses.
func (s *Redis) Client() redis.UniversalClient { return s.rdb }

// Close closes the Redis client if [OpenRedis] made it.
func (s *Redis) Close() error { return s.closer() }

// String names the backend and its Redis addresses, never a password.
func (s *Redis) String() string { return "redis store at " + s.cfg.name }

// clientName lists the addresses rdb connects to, for messages.
func clientName(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return "cluster " + strings.Join(c.Options().Addrs, ",")
	}
	return "redis"
}

// RedisError is a Redis command that failed: Redis unreachable, down, in
// failover, or refusing the command. It matches [ErrUnavailable]: it says
// nothing about whether a session is stored. It never holds a password.
type RedisError struct {
	// Addr names the Redis the store talks to.
	Addr string
	// Op is what was being done.
	Op string
	// Err is go-redis's error.
	Err error
}

// Error names Redis, the operation and the cause.
func (e *RedisError) Error() string {
	return fmt.Sprintf("keystore: redis at %s: %s: %v", e.Addr, e.Op, e.Err)
}

// Is matches [ErrUnavailable].
func (e *RedisError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns go-redis's error.
func (e *RedisError) Unwrap() error { return e.Err }

func (s *Redis) fail(op string, k Key, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("keystore: redis %s %s: %w", op, k, err)
	}
	return &RedisError{Addr: s.cfg.name, Op: op + " " + k.String(), Err: err}
}

// base returns the entry's key: prefix:{env:user}:item.
func (s *Redis) base(k Key) string {
	item := k.Item
	if item == "" {
		item = ItemSession
	}
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
	return s.cfg.prefix + ":{" + k.Environment + ":" + r.Replace(k.Username) + "}:" + string(item)
}

func (s *Redis) lockKey(k Key) string      { return s.base(k) + ":lock" }
func (s *Redis) channel(k Key) string      { return s.base(k) + ":changed" }
func (s *Redis) lastKey(env string) string { return s.cfg.prefix + ":last:{" + env + "}" }

var _ Store = (*Redis)(nil)
