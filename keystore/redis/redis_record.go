package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/names"
)

// stored is an entry as the hash holds it: nothing secret in plain text.
type stored struct {
	gen     uint64
	keyID   string
	ct      []byte
	savedAt time.Time
	savedBy string
}

// hashFields are the fields read to decrypt an entry, in this order.
var hashFields = []string{"g", "k", "c", "t", "b"}

// parseStored turns HMGET's answer into an entry; ok is false when the
// entry is absent.
func parseStored(k keystore.Key, vals []any) (st stored, ok bool, err error) {
	if len(vals) < 3 || vals[0] == nil {
		return st, false, nil
	}
	str := func(i int) string {
		if i < len(vals) {
			if v, isStr := vals[i].(string); isStr {
				return v
			}
		}
		return ""
	}
	st.gen, err = strconv.ParseUint(str(0), 10, 64)
	if err != nil {
		return st, false, fmt.Errorf("%w: %s: the generation field is not a number", keystore.ErrCorrupt, k)
	}
	st.keyID, st.ct, st.savedBy = str(1), []byte(str(2)), str(4)
	if t := str(3); t != "" {
		st.savedAt, _ = time.Parse(time.RFC3339Nano, t)
	}
	return st, true, nil
}

// decrypt opens an entry and checks that it keystore.Belongs under k.
func (s *Store) decrypt(k keystore.Key, st stored) (*keystore.Record, error) {
	plain, err := s.seal.open(k, st.gen, st.keyID, st.ct)
	if err != nil {
		return nil, err
	}
	r, err := keystore.Decode(plain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	if err := keystore.Belongs(k, r); err != nil {
		return nil, err
	}
	if r.Generation != st.gen {
		return nil, fmt.Errorf("%w: %s holds generation %d under generation %d", keystore.ErrCorrupt, k, r.Generation, st.gen)
	}
	return r, nil
}

// encrypt prepares the script arguments that store rec under k.
func (s *Store) encrypt(k keystore.Key, rec *keystore.Record) (writeArgs, error) {
	plain, err := keystore.Encode(rec)
	if err != nil {
		return writeArgs{}, err
	}
	keyID, ct := s.seal.seal(k, rec.Generation, plain)
	saved := rec.SavedAt
	if saved.IsZero() {
		saved = s.cfg.now()
	}
	return writeArgs{gen: rec.Generation, keyID: keyID, ct: ct, savedAt: saved.UTC().Format(time.RFC3339Nano)}, nil
}

// Get returns the record stored under k, decrypted. A record that does not
// decrypt gives an error matching [ErrDecrypt] naming the key
// file; Redis failures match [ErrUnavailable] or [ErrRefused].
func (s *Store) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	r, err := s.current(ctx, k)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: %s", keystore.ErrNotFound, k)
	}
	return r, nil
}

// current returns the record under a normalized k, nil when absent.
func (s *Store) current(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	vals, err := s.rdb.HMGet(ctx, s.base(k), hashFields...).Result()
	if err != nil {
		return nil, s.fail("read", k, err)
	}
	st, ok, err := parseStored(k, vals)
	if err != nil || !ok {
		return nil, err
	}
	return s.decrypt(k, st)
}

// Set stores r under k whatever generation is stored, publishing a change
// notice, then records the environment's last user for a session. It
// refuses to replace a record encrypted with a key this store does not
// hold (an error matching [ErrDecrypt]).
func (s *Store) Set(ctx context.Context, k keystore.Key, r *keystore.Record) error {
	k, rec, err := keystore.Prepare(k, r)
	if err != nil {
		return err
	}
	args, err := s.encrypt(k, &rec)
	if err != nil {
		return err
	}
	if err := s.write(ctx, k, args, false, nil); err != nil {
		return err
	}
	return s.setLastUser(ctx, k)
}

// setLastUser records k's user as its environment's last user.
func (s *Store) setLastUser(ctx context.Context, k keystore.Key) error {
	if k.Item != keystore.ItemSession {
		return nil
	}
	if err := s.rdb.Set(ctx, s.lastKey(k.Environment), s.sealLastUser(k.Environment, k.Username), 0).Err(); err != nil {
		return s.fail("record last user of", k, err)
	}
	return nil
}

// Delete removes the entry under k (publishing a change notice); the
// environment's last user is kept.
func (s *Store) Delete(ctx context.Context, k keystore.Key) error {
	k, err := k.Normalize()
	if err != nil {
		return err
	}
	return s.remove(ctx, k, false, nil)
}

// LastUser returns the username of the session last stored for env.
func (s *Store) LastUser(ctx context.Context, env string) (string, error) {
	if err := names.CheckEnvironment(env); err != nil {
		return "", err
	}
	u, err := s.rdb.Get(ctx, s.lastKey(env)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", fmt.Errorf("%w: no last user for %s", keystore.ErrNotFound, env)
	}
	if err != nil {
		return "", s.fail("read last user of", keystore.Key{Environment: env}, err)
	}
	if u, err = s.openLastUser(env, u); err != nil {
		return "", err
	}
	if names.CheckUsername(u) != nil {
		return "", fmt.Errorf("%w: the last user of %s is not a valid username", keystore.ErrCorrupt, env)
	}
	return u, nil
}

// The last user of an environment is stored sealed with the key ("v2 KEYID
// BASE64"), so that someone who can write to Redis but has no key cannot
// point every process without a username at another user's session.
// lastUserKey is what its ciphertext is bound to.
func lastUserKey(env string) keystore.Key {
	return keystore.Key{Environment: env, Item: "last-user"}
}

func (s *Store) sealLastUser(env, user string) string {
	id, ct := s.seal.seal(lastUserKey(env), 0, []byte(user))
	return "v2 " + id + " " + base64.StdEncoding.EncodeToString(ct)
}

// openLastUser returns the user a sealed value names. A value sealed
// with a key this store does not have is a wrong key file (a
// *decryptError); one that is not sealed, or does not open with the key it
// names, counts as none (ErrNotFound, saying why).
func (s *Store) openLastUser(env, v string) (string, error) {
	if keyID, ct, ok := parseSealedLastUser(v); ok {
		plain, err := s.seal.open(lastUserKey(env), 0, keyID, ct)
		var de *decryptError
		switch {
		case err == nil:
			return string(plain), nil
		case errors.As(err, &de) && de.Unknown:
			return "", err
		}
	}
	return "", fmt.Errorf("%w: the last user of %s in Redis is not sealed with the key (written by an older pmx-login, or by someone without the key): give the username", keystore.ErrNotFound, env)
}

// parseSealedLastUser splits a sealed last user ("v2 KEYID BASE64") into
// the id of its key and its ciphertext; ok is false for anything else.
func parseSealedLastUser(v string) (keyID string, ct []byte, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "v2" {
		return "", nil, false
	}
	ct, err := base64.StdEncoding.DecodeString(f[2])
	return f[1], ct, err == nil
}
