package keystore

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore/internal/names"
)

// Item is what a stored entry is: a session, a TOTP enrollment or an ISV
// partner's token.
type Item string

const (
	// ItemSession is the token record: refresh token, its expiry and the
	// access-token cache. A [Key] with an empty Item means ItemSession.
	ItemSession Item = "session"
	// ItemTOTP is a TOTP enrollment URL, stored only when the user asks for
	// it (--store-secret).
	ItemTOTP Item = "totp"
	// ItemOTPStep records a user's last used TOTP window (Record.LastOTPStep)
	// so that no process offers a one-time code twice.
	ItemOTPStep Item = "otp-step"
	// ItemISV is an ISV partner's client-credentials access token, shared
	// by the processes of one partner (no refresh token, no password).
	ItemISV Item = "isv"
)

// Key names one stored entry.
type Key struct {
	// Environment is the exchange environment ("preprod", "prod", ...):
	// letters, digits, '.', '_' and '-', starting with a letter or digit.
	Environment string
	// Username is the trader's username, 1 to 256 bytes of printable UTF-8.
	Username string
	// Item is what is stored; "" means [ItemSession].
	Item Item
}

// Store keeps records per [Key]. Implementations are safe for concurrent
// use; every method that may touch a keychain or disk takes a context.
type Store interface {
	// Get returns the record stored under k, or an error matching
	// [ErrNotFound] when there is none.
	Get(ctx context.Context, k Key) (*Record, error)
	// Set stores r under k, replacing what was there. For session items it
	// also records k.Username as the environment's last user. The record's
	// Environment and Username must be empty or equal to the key's.
	Set(ctx context.Context, k Key, r *Record) error
	// Delete removes the entry under k; deleting an absent entry is not an
	// error. The environment's last user is kept, even when it is k's: a
	// logout ends the session, and the next login still defaults to the
	// user who logged out.
	Delete(ctx context.Context, k Key) error
	// LastUser returns the username of the session last stored for env, or
	// an error matching [ErrNotFound] when there is none.
	LastUser(ctx context.Context, env string) (string, error)
	// Backend names the backend as pmx-login's --keystore and package
	// settings do: "keyring", "file", "redis" or "memory".
	Backend() string

	// CompareAndSwap stores r under k only if the entry still holds old
	// ([Same]; a nil old means nothing is stored). Otherwise it stores
	// nothing and returns a [*ConflictError] (matching [ErrConflict]) that
	// carries what is stored now. A session write records the last user as
	// Set does.
	CompareAndSwap(ctx context.Context, k Key, old, r *Record) error
	// CompareAndDelete removes the entry under k only if it still holds old
	// ([Same]); otherwise it returns a [*ConflictError]. An absent entry is
	// not an error. Like Delete, it keeps the last user.
	CompareAndDelete(ctx context.Context, k Key, old *Record) error
	// Lock takes the store's cross-process lock on k, held until unlock is
	// called: one holder at a time among the goroutines and processes that
	// share the store. It waits until ctx is done. The session core holds
	// it around a refresh so that processes sharing a session refresh it
	// once; it is advisory, and writes stay compare-and-set.
	Lock(ctx context.Context, k Key) (unlock func(), err error)
}

// Sentinel errors to branch on with [errors.Is].
var (
	// ErrNotFound: nothing is stored under the key (the user is not logged
	// in), or no last user is recorded.
	ErrNotFound = errors.New("keystore: not found")
	// ErrUnavailable: the keychain is absent, locked or not answering. It
	// says nothing about whether a session exists. Package keyring's
	// ErrNoService, ErrLocked and ErrTimeout say why.
	ErrUnavailable = errors.New("keychain unavailable")
	// ErrTooLarge: the record does not fit the keychain's size limit even
	// without the cached access token.
	ErrTooLarge = errors.New("keystore: record too large")
	// ErrInsecure: a keystore file or directory can be read by group or
	// others, or is owned by another user; it is refused until its mode or
	// owner is fixed.
	ErrInsecure = errors.New("keystore: insecure permissions")
	// ErrCorrupt: a stored record cannot be decoded, or is stored under a
	// key it does not belong to. Delete it and log in again.
	ErrCorrupt = errors.New("keystore: corrupt record")
	// ErrConflict: a compare-and-set found that the stored record changed
	// since the caller read it (another process wrote it). See
	// [ConflictError].
	ErrConflict = errors.New("keystore: the stored record changed")
)

// ConflictError is a compare-and-set that lost: Current is what the entry
// holds now (nil: nothing). It matches [ErrConflict].
type ConflictError struct {
	Key     Key
	Current *Record
}

// Error names the entry, never its content.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("keystore: %s was changed by another process", e.Key)
}

// Is matches [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Normalize validates k and returns it with Item defaulted to
// [ItemSession]. Every backend calls it first.
func (k Key) Normalize() (Key, error) {
	if err := names.CheckEnvironment(k.Environment); err != nil {
		return k, err
	}
	if err := names.CheckUsername(k.Username); err != nil {
		return k, err
	}
	switch k.Item {
	case "":
		k.Item = ItemSession
	case ItemSession, ItemTOTP, ItemOTPStep, ItemISV:
	default:
		return k, fmt.Errorf("keystore: unknown item %q: use %q, %q, %q or %q", k.Item, ItemSession, ItemTOTP, ItemOTPStep, ItemISV)
	}
	return k, nil
}

// String returns "env/username/item", for messages.
func (k Key) String() string {
	item := k.Item
	if item == "" {
		item = ItemSession
	}
	return k.Environment + "/" + k.Username + "/" + string(item)
}

// Prepare validates k and r for a backend's Set and returns the key normalized and a
// copy of r with Environment and Username filled from the key.
func Prepare(k Key, r *Record) (Key, Record, error) {
	k, err := k.Normalize()
	if err != nil {
		return k, Record{}, err
	}
	if r == nil {
		return k, Record{}, errors.New("keystore: Set called with a nil record")
	}
	c := *r
	if c.Environment != "" && c.Environment != k.Environment {
		return k, Record{}, fmt.Errorf("keystore: record is for environment %q but the key is for %q", c.Environment, k.Environment)
	}
	if c.Username != "" && c.Username != k.Username {
		return k, Record{}, fmt.Errorf("keystore: record is for user %q but the key is for %q", c.Username, k.Username)
	}
	c.Environment, c.Username = k.Environment, k.Username
	return k, c, nil
}

// Belongs checks that a record a backend decoded is the one stored under
// k; else it returns an error matching [ErrCorrupt].
func Belongs(k Key, r *Record) error {
	if r.Environment != k.Environment || r.Username != k.Username {
		return fmt.Errorf("%w: entry %s holds a record for %s/%s: delete it and log in again",
			ErrCorrupt, k, r.Environment, r.Username)
	}
	return nil
}
