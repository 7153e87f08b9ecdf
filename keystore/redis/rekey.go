package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
)

// A key rotation, with every process of the fleet kept running:
//
//  1. give every process the new key as an older key ([WithOlderKeys]),
//     so that each can read what the new key encrypts;
//  2. make the new key the main one and the old key an older one, process by
//     process: what they write is encrypted with the new key;
//  3. run [Store.Rekey] once (pmx-login redis rekey) to re-encrypt the
//     records nobody wrote since;
//  4. drop the old key.
//
// Rekey finds the records through an index, a set of the entries this
// prefix holds ("pmx:v1:index"), which every write adds its entry to.

// indexKey is the set of the entries stored under the prefix.
func (s *Store) indexKey() string { return s.cfg.prefix + ":index" }

// indexMember names k in the index: environment, user and item, split by
// tabs (which neither may hold).
func indexMember(k keystore.Key) string {
	return k.Environment + "\t" + k.Username + "\t" + string(k.Item)
}

// index adds k to the index, before k is written: an index member whose
// entry is absent costs Rekey one read, an entry missing from the index
// would be missed.
func (s *Store) index(ctx context.Context, k keystore.Key) error {
	if err := s.rdb.SAdd(ctx, s.indexKey(), indexMember(k)).Err(); err != nil {
		return s.fail("index", k, err)
	}
	return nil
}

// rekeyScript re-encrypts an entry in place. KEYS[1] is the entry; ARGV:
// the generation and key id read, the new key id and ciphertext. It
// answers "ok", or "changed" when the entry is no longer the one read.
// The generation stays: the record is the same, only its encryption is
// new, so no process sees a change and none is published.
var rekeyScript = goredis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'g', 'k')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], 'k', ARGV[3], 'c', ARGV[4])
return 'ok'
`)

// resealScript replaces a string only if it still holds the value read.
var resealScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'changed' end
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'
`)

// Rekey re-encrypts, with the store's main key, every record of its
// prefix that an older key ([WithOlderKeys]) encrypted, and the last user
// of each environment. Each re-encryption is a compare-and-set against
// the entry read: a record that another process rewrites meanwhile is read
// again, and an interrupted Rekey loses nothing (run it again). Records
// encrypted with a key the store does not hold are left as they are and
// reported in the error (an error matching [ErrDecrypt]). It returns how many records
// (and last users) it re-encrypted, and how many the main key encrypted
// already, also when it fails.
func (s *Store) Rekey(ctx context.Context) (rekeyed, current int, err error) {
	var res rekeyCount
	members, err := s.rdb.SMembers(ctx, s.indexKey()).Result()
	if err != nil {
		return 0, 0, s.failOn("read the index "+s.indexKey(), err)
	}
	var errs []error
	envs := map[string]bool{}
	for _, m := range members {
		k, ok := parseIndexMember(m)
		if !ok {
			continue // not ours: written by someone without the key's format
		}
		envs[k.Environment] = true
		errs = append(errs, s.rekeyEntry(ctx, k, &res))
	}
	for env := range envs {
		errs = append(errs, s.resealLastUser(ctx, env, &res))
	}
	return res.rekeyed, res.current, errors.Join(errs...)
}

// rekeyCount is what Rekey did so far.
type rekeyCount struct{ rekeyed, current int }

// parseIndexMember reads an index member back into a normalized key.
func parseIndexMember(m string) (keystore.Key, bool) {
	f := strings.Split(m, "\t")
	if len(f) != 3 {
		return keystore.Key{}, false
	}
	k, err := keystore.Key{Environment: f[0], Username: f[1], Item: keystore.Item(f[2])}.Normalize()
	return k, err == nil
}

// rekeyAttempts bounds how often Rekey reads an entry that keeps changing
// under it (each change by a process with the main key re-encrypts it).
const rekeyAttempts = 5

// rekeyEntry re-encrypts the entry under k unless the main key encrypted
// it already.
func (s *Store) rekeyEntry(ctx context.Context, k keystore.Key, res *rekeyCount) error {
	for range rekeyAttempts {
		vals, err := s.rdb.HMGet(ctx, s.base(k), hashFields...).Result()
		if err != nil {
			return s.fail("read", k, err)
		}
		st, ok, err := parseStored(k, vals)
		if err != nil || !ok {
			return err
		}
		if st.keyID == s.seal.current.id {
			res.current++
			return nil
		}
		plain, err := s.seal.open(k, st.gen, st.keyID, st.ct)
		if err != nil {
			return err
		}
		keyID, ct := s.seal.seal(k, st.gen, plain)
		answer, err := rekeyScript.Run(ctx, s.rdb, []string{s.base(k)}, st.gen, st.keyID, keyID, ct).Text()
		if err != nil {
			return s.fail("re-encrypt", k, err)
		}
		if answer == "ok" {
			res.rekeyed++
			return nil
		}
	}
	return fmt.Errorf("keystore: %s changed %d times while being re-encrypted: run rekey again", k, rekeyAttempts)
}

// resealLastUser re-seals env's last user with the main key.
func (s *Store) resealLastUser(ctx context.Context, env string, res *rekeyCount) error {
	v, err := s.rdb.Get(ctx, s.lastKey(env)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.failOn("read the last user of "+env, err)
	}
	keyID, ct, ok := parseSealedLastUser(v)
	switch {
	case !ok:
		return nil // not sealed: LastUser ignores it, and so does rekey
	case keyID == s.seal.current.id:
		res.current++
		return nil
	}
	user, err := s.seal.open(lastUserKey(env), 0, keyID, ct)
	if err != nil {
		return err
	}
	answer, err := resealScript.Run(ctx, s.rdb, []string{s.lastKey(env)}, v, s.sealLastUser(env, string(user))).Text()
	if err != nil {
		return s.failOn("re-encrypt the last user of "+env, err)
	}
	if answer == "ok" {
		res.rekeyed++
	} // else a process wrote it meanwhile, with its main key
	return nil
}
