package keyring

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/names"
)

// defaultTimeout bounds every keychain operation of a [Store].
const defaultTimeout = 5 * time.Second

// defaultServicePrefix starts every keychain service name.
const defaultServicePrefix = "pmx-login"

// lastUserAccount is the keychain user under which the last user is kept.
const lastUserAccount = "default"

// secrets is the part of go-keyring a [Store] uses, so that a test can put
// a keychain that never answers behind it.
type secrets interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// osKeychain is the operating system's keychain, through go-keyring.
type osKeychain struct{}

func (osKeychain) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }
func (osKeychain) Set(service, user, secret string) error {
	return gokeyring.Set(service, user, secret)
}
func (osKeychain) Delete(service, user string) error { return gokeyring.Delete(service, user) }

// Store is a [keystore.Store] in the operating system's keychain. Sessions are kept
// under the service "pmx-login:<env>" with the username as the account, TOTP
// enrollments under "pmx-login:<env>:totp", and the last user under
// "pmx-login:<env>:last-user" (account "default"). It is safe for concurrent
// use.
//
// go-keyring has no way to cancel a call: when one times out, its goroutine
// is left to finish (or block) in the background. A write that timed out
// keeps its write lock until its call returns, and meanwhile this store's
// writes fail at once with the keychain's timeout.
type Store struct {
	timeout time.Duration
	prefix  string
	goos    string
	kc      secrets
	lockDir string
	// stalled counts the writes abandoned at their deadline that have
	// not returned yet.
	stalled atomic.Int32
}

// Option configures a [Store].
type Option func(*Store)

// WithTimeout bounds each operation (Get, Set, Delete, LastUser) to d,
// after which it fails with an error matching [ErrTimeout]. A d of zero
// or less keeps 5 s.
func WithTimeout(d time.Duration) Option {
	return func(k *Store) {
		if d > 0 {
			k.timeout = d
		}
	}
}

// WithServicePrefix replaces "pmx-login" at the start of every service
// name, so that tests can keep their entries apart. An empty prefix keeps
// the default.
func WithServicePrefix(prefix string) Option {
	return func(k *Store) {
		if prefix != "" {
			k.prefix = prefix
		}
	}
}

// WithLockDir puts the lock files that serialise writes (Set, Delete and
// compare-and-set) and refreshes ([Store.Lock]) across processes in dir (default: $XDG_RUNTIME_DIR/pmx-login,
// else the file backend's directory + "/locks").
func WithLockDir(dir string) Option { return func(k *Store) { k.lockDir = dir } }

// withSecrets puts kc in place of the operating system's keychain (tests).
func withSecrets(kc secrets) Option { return func(k *Store) { k.kc = kc } }

// New returns a [keystore.Store] in the operating system's keychain.
func New(opts ...Option) *Store {
	k := &Store{timeout: defaultTimeout, prefix: defaultServicePrefix, goos: runtime.GOOS, kc: osKeychain{}}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Backend returns "keyring".
func (k *Store) Backend() string { return "keyring" }

// service returns the keychain service name of an environment's item.
func (k *Store) service(env string, item keystore.Item) string {
	if item == keystore.ItemSession {
		return k.prefix + ":" + env
	}
	return k.prefix + ":" + env + ":" + string(item)
}

func (k *Store) lastUserService(env string) string { return k.prefix + ":" + env + ":last-user" }

// errTimeout is the cause of an operation's own deadline.
var errTimeout = errors.New("keychain timeout")

// bound gives an operation its own deadline.
func (k *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, k.timeout, errTimeout)
}

// call runs f off the caller's goroutine and waits for it, ctx, or the
// operation's deadline, then classifies the error. A write passes its
// lock (w; nil for a read), which then stays held until an f abandoned at
// the deadline has returned.
func call[T any](ctx context.Context, k *Store, w *heldLock, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, k.ctxError(ctx)
	}
	done, finished := make(chan result, 1), make(chan struct{})
	go func() {
		defer close(finished)
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, k.named(classify(r.err))
	case <-ctx.Done():
		if w != nil {
			w.abandoned(finished)
		}
		return zero, k.ctxError(ctx)
	}
}

// named fills in the keychain's name of an unavailable keychain's error.
func (k *Store) named(err error) error {
	if ue, ok := err.(*unavailableError); ok {
		ue.keychain = keychainName(k.goos)
	}
	return err
}

// ctxError is the error for a finished ctx while the keychain had not
// answered. A deadline, the operation's own or the caller's, is the
// keychain's timeout: it is the keychain, not the network, that hung, so
// the error does not match context.DeadlineExceeded. A cancellation is
// the caller's and stays one.
func (k *Store) ctxError(ctx context.Context) error {
	var err error
	switch {
	case context.Cause(ctx) == errTimeout:
		err = fmt.Errorf("no answer within %s", k.timeout)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = errors.New("no answer before the caller's deadline")
	default:
		return fmt.Errorf("keystore: keychain call abandoned: %w", ctx.Err())
	}
	return unavailable(keychainName(k.goos), timeout, err)
}

// Get returns the record stored under key.
func (k *Store) Get(ctx context.Context, key keystore.Key) (*keystore.Record, error) {
	key, err := key.Normalize()
	if err != nil {
		return nil, err
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	s, err := call(ctx, k, nil, func() (string, error) { return k.kc.Get(k.service(key.Environment, key.Item), key.Username) })
	if err != nil {
		return nil, wrapOp("reading", key, err)
	}
	r, err := keystore.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("keystore: keychain entry %s: %w", key, err)
	}
	if err := keystore.Belongs(key, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Set stores r under key; for a session it also records the last user. A
// record too large for this platform's keychain is stored without its
// cached access token, or refused with [keystore.ErrTooLarge]. It takes the write
// lock file that [Store.CompareAndSwap] takes, so that a compare-and-set
// never overwrites a Set that came between its read and its write.
func (k *Store) Set(ctx context.Context, key keystore.Key, r *keystore.Record) error {
	w, err := k.writeLock(ctx, key)
	if err != nil {
		return err
	}
	defer w.release()
	return k.set(ctx, key, r, w)
}

// set is Set under the write lock w.
func (k *Store) set(ctx context.Context, key keystore.Key, r *keystore.Record, w *heldLock) error {
	key, rec, err := keystore.Prepare(key, r)
	if err != nil {
		return err
	}
	service := k.service(key.Environment, key.Item)
	b, err := fitRecord(k.goos, service, key.Username, rec)
	if err != nil {
		return err
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	if _, err := call(ctx, k, w, func() (struct{}, error) {
		return struct{}{}, k.kc.Set(service, key.Username, string(b))
	}); err != nil {
		return wrapOp("writing", key, err)
	}
	if key.Item != keystore.ItemSession {
		return nil
	}
	if _, err := call(ctx, k, w, func() (struct{}, error) {
		return struct{}{}, k.kc.Set(k.lastUserService(key.Environment), lastUserAccount, key.Username)
	}); err != nil {
		return fmt.Errorf("keystore: session stored, but recording the last user of %s failed: %w", key.Environment, err)
	}
	return nil
}

// Delete removes the entry under key; an absent entry is not an error.
// The last user is kept. It takes the write lock file, as Set does.
func (k *Store) Delete(ctx context.Context, key keystore.Key) error {
	w, err := k.writeLock(ctx, key)
	if err != nil {
		return err
	}
	defer w.release()
	return k.delete(ctx, key, w)
}

// delete is Delete under the write lock w.
func (k *Store) delete(ctx context.Context, key keystore.Key, w *heldLock) error {
	key, err := key.Normalize()
	if err != nil {
		return err
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	_, err = call(ctx, k, w, func() (struct{}, error) {
		return struct{}{}, k.kc.Delete(k.service(key.Environment, key.Item), key.Username)
	})
	if err != nil && !errors.Is(err, keystore.ErrNotFound) {
		return wrapOp("deleting", key, err)
	}
	return nil
}

// LastUser returns the username of the session last stored for env.
func (k *Store) LastUser(ctx context.Context, env string) (string, error) {
	if err := names.CheckEnvironment(env); err != nil {
		return "", err
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	return k.lastUser(ctx, env)
}

func (k *Store) lastUser(ctx context.Context, env string) (string, error) {
	u, err := call(ctx, k, nil, func() (string, error) { return k.kc.Get(k.lastUserService(env), lastUserAccount) })
	if err != nil {
		if errors.Is(err, keystore.ErrNotFound) {
			return "", fmt.Errorf("%w: no last user recorded for %s", keystore.ErrNotFound, env)
		}
		return "", fmt.Errorf("keystore: reading the last user of %s: %w", env, err)
	}
	if err := names.CheckUsername(u); err != nil {
		return "", fmt.Errorf("%w: last user entry of %s: %v", keystore.ErrCorrupt, env, err)
	}
	return u, nil
}

// wrapOp adds the operation and key to a keychain error; a not-found error
// stays a bare [keystore.ErrNotFound] match with the key named.
func wrapOp(op string, key keystore.Key, err error) error {
	if errors.Is(err, keystore.ErrNotFound) {
		return fmt.Errorf("%w: no %s stored for %s in %s", keystore.ErrNotFound, key.Item, key.Username, key.Environment)
	}
	return fmt.Errorf("keystore: %s %s in the keychain: %w", op, key, err)
}
