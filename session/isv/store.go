package isv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/keystore"
)

// Store is where the processes of one partner share their access token:
// [redis.Store] across machines, [file.Store] on one machine,
// [keystore.Memory] within one process. Lock is held around a token
// request so that one process at a time requests, and the others adopt
// what it stored; writes are compare-and-set, so a lock lost to a lease
// expiry costs at most one more request.
type Store interface {
	// Get returns the stored record, or an error matching
	// [keystore.ErrNotFound].
	Get(ctx context.Context, k keystore.Key) (*keystore.Record, error)
	// CompareAndSwap stores r if the entry still holds old, else returns a
	// [*keystore.ConflictError] with what it holds.
	CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error
	// Lock takes the store's lock on k until unlock is called.
	Lock(ctx context.Context, k keystore.Key) (unlock func(), err error)
}

// storeJitter shortens each token's refresh margin by up to this fraction
// when a store is shared, so that processes do not all go stale at once
// and the first one's new token is stored before the others look.
const storeJitter = 0.1

// maxEnvironment and maxUsername are the keystore's limits on a key's
// parts (see [keystore.Key]).
const (
	maxEnvironment = 64
	maxUsername    = 256
)

// storeKey names a client's shared token: the environment is the token
// endpoint's host in a form the keystore accepts ("pmx-preprod.us.auth0.com",
// "127.0.0.1-8443"); the username is the client ID, the audience and the
// requested scopes (sorted), hashed when they do not fit. A token is only
// ever shared among Sources that would have requested the same one.
func storeKey(tokenURL, clientID, audience, scope string) keystore.Key {
	host := tokenURL
	if u, err := url.Parse(tokenURL); err == nil && u.Host != "" {
		host = u.Host
		if u.Path != isvkit.TokenPath {
			host += u.Path
		}
	}
	user := clientID + " " + audience
	if scope != "" {
		scopes := strings.Fields(scope)
		slices.Sort(scopes)
		user += " scope=" + strings.Join(scopes, " ")
	}
	if len(user) > maxUsername || !printable(user) {
		user = clientID + " " + digest(user)
		if len(user) > maxUsername || !printable(user) {
			user = digest(user)
		}
	}
	return keystore.Key{Environment: safeEnvironment(host), Username: user, Item: keystore.ItemISV}
}

// safeEnvironment maps a host (and path) to an environment name: lower
// case letters, digits, '.', '_' and '-', starting with a letter or digit,
// at most 64 bytes (a digest replaces the tail of a longer one).
func safeEnvironment(host string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(host) {
		switch {
		case c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)), c == '.', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	env := strings.TrimLeft(b.String(), "._-")
	if env == "" || len(env) > maxEnvironment {
		d := digest(host)
		env = strings.TrimRight(env[:min(len(env), maxEnvironment-len(d)-1)], "._-")
		if env == "" {
			return d
		}
		env += "-" + d
	}
	return env
}

// digest is a short hex digest of s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// printable reports whether s is valid UTF-8 of printable characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// describeStore names a store's backend, never its address or key.
func describeStore(s Store) string {
	switch b := s.(type) {
	case nil:
		return "none"
	case interface{ Backend() string }:
		return b.Backend()
	}
	return "custom"
}
