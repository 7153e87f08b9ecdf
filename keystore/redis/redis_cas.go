package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
)

// gtLua compares two decimal generations exactly (no float rounding).
const gtLua = `local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
`

// writeScript stores an entry. KEYS[1] is the entry; ARGV: mode ("set" or
// "cas"), old generation ("" for "must be absent"), new generation, key
// id, ciphertext, saved at, saved by, channel, the ids of the keys the
// writer holds (",id1,id2,"). It answers {"ok"}, {"conflict", g, k, c, t,
// b}, {"absent"} (cas lost to an absent entry), {"stale", g} (the new
// generation is not above the stored one) or {"foreign", g, k} (the stored
// record is encrypted with a key the writer does not hold: a writer with a
// wrong key file never replaces the fleet's record).
var writeScript = goredis.NewScript(gtLua + `
local cur = redis.call('HMGET', KEYS[1], 'g', 'k', 'c', 't', 'b')
if cur[2] and not string.find(ARGV[9], ',' .. cur[2] .. ',', 1, true) then
  return {'foreign', cur[1], cur[2]}
end
if ARGV[1] == 'cas' then
  if ARGV[2] == '' then
    if cur[1] then return {'conflict', cur[1], cur[2], cur[3], cur[4] or '', cur[5] or ''} end
  else
    if not cur[1] then return {'absent'} end
    if cur[1] ~= ARGV[2] then return {'conflict', cur[1], cur[2], cur[3], cur[4] or '', cur[5] or ''} end
    if not gt(ARGV[3], cur[1]) then return {'stale', cur[1]} end
  end
end
redis.call('HSET', KEYS[1], 'v', '1', 'g', ARGV[3], 'k', ARGV[4], 'c', ARGV[5], 't', ARGV[6], 'b', ARGV[7])
redis.call('SPUBLISH', ARGV[8], ARGV[3])
return {'ok'}
`)

// deleteScript removes an entry. KEYS[1] is the entry; ARGV: mode ("del"
// or "cad"), old generation ("" for "must be absent"), channel. It answers
// {"ok"} or {"conflict", g, k, c, t, b}.
var deleteScript = goredis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'g', 'k', 'c', 't', 'b')
if not cur[1] then return {'ok'} end
if ARGV[1] == 'cad' and cur[1] ~= ARGV[2] then
  return {'conflict', cur[1], cur[2], cur[3], cur[4] or '', cur[5] or ''}
end
redis.call('DEL', KEYS[1])
redis.call('SPUBLISH', ARGV[3], 'deleted')
return {'ok'}
`)

// writeArgs is an encrypted record ready for writeScript.
type writeArgs struct {
	gen     uint64
	keyID   string
	ct      []byte
	savedAt string
}

// oldGen is the script's "expected generation" argument for old.
func oldGen(old *keystore.Record) string {
	if old == nil {
		return ""
	}
	return strconv.FormatUint(old.Generation, 10)
}

// write runs writeScript; with cas it is fenced by old's generation.
func (s *Store) write(ctx context.Context, k keystore.Key, a writeArgs, cas bool, old *keystore.Record) error {
	mode := "set"
	if cas {
		mode = "cas"
	}
	if err := s.index(ctx, k); err != nil {
		return err
	}
	res, err := writeScript.Run(ctx, s.rdb, []string{s.base(k)}, mode, oldGen(old),
		strconv.FormatUint(a.gen, 10), a.keyID, a.ct, a.savedAt, s.cfg.savedBy, s.channel(k), s.seal.ids()).Slice()
	if err != nil {
		return s.fail("write", k, err)
	}
	return s.scriptAnswer(k, res, a.gen)
}

// remove runs deleteScript; with cad it is fenced by old's generation.
func (s *Store) remove(ctx context.Context, k keystore.Key, cad bool, old *keystore.Record) error {
	mode := "del"
	if cad {
		mode = "cad"
	}
	res, err := deleteScript.Run(ctx, s.rdb, []string{s.base(k)}, mode, oldGen(old), s.channel(k)).Slice()
	if err != nil {
		return s.fail("delete", k, err)
	}
	return s.scriptAnswer(k, res, 0)
}

// scriptAnswer turns a script's answer into nil or an error; a conflict
// carries the stored record, decrypted here.
func (s *Store) scriptAnswer(k keystore.Key, res []any, gen uint64) error {
	status, _ := res[0].(string)
	switch status {
	case "ok":
		return nil
	case "absent":
		return &keystore.ConflictError{Key: k}
	case "foreign":
		keyID, _ := res[2].(string)
		return &decryptError{Key: k, KeyID: keyID, KeyFile: s.seal.current.source, Unknown: true}
	case "stale":
		stored, _ := res[1].(string)
		return fmt.Errorf("keystore: %s: the new record's generation %d is not above the stored generation %s", k, gen, stored)
	case "conflict":
		st, ok, err := parseStored(k, res[1:])
		if err != nil || !ok {
			return errors.Join(&keystore.ConflictError{Key: k}, err)
		}
		cur, err := s.decrypt(k, st)
		if err != nil {
			return err
		}
		return &keystore.ConflictError{Key: k, Current: cur}
	}
	return fmt.Errorf("keystore: %s: unexpected answer %q from the write script", k, status)
}

// CompareAndSwap stores r under k only if the stored generation is old's
// (nothing stored when old is nil), and r's generation is above it; it
// publishes a change notice. A lost race gives a [*keystore.ConflictError] holding
// the stored record, decrypted. Generations only grow under
// CompareAndSwap, so a matching generation means the same record ([keystore.Same]).
func (s *Store) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	k, rec, err := keystore.Prepare(k, r)
	if err != nil {
		return err
	}
	if old != nil && rec.Generation <= old.Generation {
		return fmt.Errorf("keystore: CompareAndSwap %s: the new generation %d must be above the old one, %d", k, rec.Generation, old.Generation)
	}
	args, err := s.encrypt(k, &rec)
	if err != nil {
		return err
	}
	if err := s.write(ctx, k, args, true, old); err != nil {
		return err
	}
	return s.setLastUser(ctx, k)
}

// CompareAndDelete removes the entry under k only if its generation is
// old's; an absent entry is not an error. It publishes a change notice
// and keeps the last user.
func (s *Store) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	k, err := k.Normalize()
	if err != nil {
		return err
	}
	return s.remove(ctx, k, true, old)
}
