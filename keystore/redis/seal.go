package redis

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pmx-login/pmx-login/keystore"
)

// ErrDecrypt: a record in a shared store does not decrypt with the keys
// given: a wrong key file, a key since rotated away, or a record that was
// altered. The stored record is left as it is. The error names the record,
// the key id it names and the key file(s) tried.
var ErrDecrypt = errors.New("keystore: record does not decrypt")

// ErrWrongKey: a record names a key that none of the given keys is (a
// wrong key file, or a key since rotated away), rather than one that
// matched but did not authenticate (an altered or moved record). Errors
// that match it match [ErrDecrypt] too.
var ErrWrongKey = errors.New("keystore: record encrypted with another key")

// EncryptionKey is an AES-256 key that encrypts records in a shared store
// ([Store]). It never prints its bytes: String names its id and source.
type EncryptionKey struct {
	id     string
	source string
	aead   cipher.AEAD
}

// NewEncryptionKey makes a key from 32 raw bytes; source names where they
// came from (a key file's path) in errors. The key's id is derived from the
// key with SHA-256, so the same key always has the same id.
func NewEncryptionKey(raw []byte, source string) (*EncryptionKey, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("keystore: an encryption key is %d bytes, not %d", keySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	sum := sha256.Sum256(append([]byte("pmx-login record key id\x00"), raw...))
	return &EncryptionKey{id: hex.EncodeToString(sum[:6]), source: source, aead: aead}, nil
}

// ID returns the key's id: 12 hex digits stored beside each record it
// encrypts, so that a store can hold records of several keys during a
// rotation.
func (k *EncryptionKey) ID() string { return k.id }

// Format names the key by id and source under every verb, never its
// bytes.
func (k *EncryptionKey) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "key %s (%s)", k.id, k.source)
}

// decryptError is a record that did not decrypt. It matches [ErrDecrypt].
type decryptError struct {
	Key keystore.Key
	// KeyID is the id of the key the record was encrypted with.
	KeyID string
	// KeyFile names the key file(s) that were tried.
	KeyFile string
	// Unknown is true when no given key has KeyID (a wrong or rotated key
	// file); false when the key matched but the record did not
	// authenticate (altered, or stored under another name).
	Unknown bool
}

// Error names the record and the key file, never the record's content.
func (e *decryptError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("keystore: %s was encrypted with key %s, which is not the key in %s: wrong key file (the record is left as it is)",
			e.Key, e.KeyID, e.KeyFile)
	}
	return fmt.Sprintf("keystore: %s does not decrypt with key %s from %s although it names that key: it was altered, or moved here from another user, environment, generation or key prefix (the record is left as it is)",
		e.Key, e.KeyID, e.KeyFile)
}

// Is matches [ErrDecrypt], and [ErrWrongKey] when no given key has KeyID.
func (e *decryptError) Is(target error) bool {
	return target == ErrDecrypt || (target == ErrWrongKey && e.Unknown)
}

// sealer encrypts with one key and decrypts with it or older ones.
type sealer struct {
	current *EncryptionKey
	byID    map[string]*EncryptionKey
	// prefix is the store's key prefix, bound into every ciphertext, so
	// that a record copied to another deployment's prefix (sharing a Redis
	// and a key) does not decrypt there.
	prefix string
}

func newSealer(current *EncryptionKey, older []*EncryptionKey) (*sealer, error) {
	if current == nil {
		return nil, errors.New("keystore: no encryption key given")
	}
	s := &sealer{current: current, byID: map[string]*EncryptionKey{current.id: current}}
	for _, k := range older {
		if k == nil {
			return nil, errors.New("keystore: a nil older encryption key")
		}
		if _, ok := s.byID[k.id]; !ok {
			s.byID[k.id] = k
		}
	}
	return s, nil
}

// ids lists the ids of the keys held, as ",id1,id2,".
func (s *sealer) ids() string {
	var b strings.Builder
	b.WriteString(",")
	for id := range s.byID {
		b.WriteString(id + ",")
	}
	return b.String()
}

// aad binds a ciphertext to where it is stored (prefix, environment,
// user, item) and its generation, so a record cannot be moved to another
// key or prefix, or rolled back to another generation's slot. Records
// written before the prefix was bound (legacy) used no prefix: they are
// read only under the default prefix.
func aad(prefix string, k keystore.Key, gen uint64, keyID string) []byte {
	head := "pmx-login/redis/v1\x00"
	if prefix != legacyPrefix {
		head = "pmx-login/redis/v2\x00" + prefix + "\x00"
	}
	return []byte(head + k.Environment + "\x00" + k.Username + "\x00" + string(k.Item) +
		"\x00" + strconv.FormatUint(gen, 10) + "\x00" + keyID)
}

// legacyPrefix is the default prefix, whose records keep the first
// associated data (the default prefix is bound by its version tag).
const legacyPrefix = "pmx:v1"

// seal encrypts plain for k at generation gen with the current key.
func (s *sealer) seal(k keystore.Key, gen uint64, plain []byte) (keyID string, ct []byte) {
	return s.current.id, s.current.aead.Seal(nil, nil, plain, aad(s.prefix, k, gen, s.current.id))
}

// open decrypts a record stored under k.
func (s *sealer) open(k keystore.Key, gen uint64, keyID string, ct []byte) ([]byte, error) {
	key, ok := s.byID[keyID]
	if !ok {
		return nil, &decryptError{Key: k, KeyID: shownKeyID(keyID), KeyFile: s.current.source, Unknown: true}
	}
	plain, err := key.aead.Open(nil, nil, ct, aad(s.prefix, k, gen, keyID))
	if err != nil {
		return nil, &decryptError{Key: k, KeyID: keyID, KeyFile: key.source}
	}
	return plain, nil
}
