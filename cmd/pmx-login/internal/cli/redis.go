package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/settings"
)

// hintRedisKeyFile is the hint for a key file that is missing or bad.
const hintRedisKeyFile = "check --redis-key-file (" + envRedisKeyFile + "): every process of the fleet needs a copy of the same key file, mode 0600; " +
	"make a new one with `pmx-login redis keygen --out FILE` (a new key cannot read the sessions stored with the old one)"

// redisKeyFileError: the redis keystore could not be opened, which (its
// URL being checked before) means its key file is missing or bad.
type redisKeyFileError struct{ err error }

func (e *redisKeyFileError) Error() string { return e.err.Error() }
func (e *redisKeyFileError) Unwrap() error { return e.err }

type redisKeygenOptions struct {
	*app
	out string
}

func redisKeygenCommand() command {
	return command{
		name:    "redis keygen",
		args:    "[--out FILE]",
		summary: "Create the key file that encrypts the sessions kept in Redis (--keystore redis)",
		long: `Writes 32 random bytes in base64 to FILE (default --redis-key-file, ` + envRedisKeyFile + `),
mode 0600, and prints the key's id; never the key. It refuses to overwrite a file.
Copy the file to every machine of the fleet (as a secret, mode 0600 or 0400): a
process with another key cannot read the sessions, and Redis alone reads nothing.`,
		example: `pmx-login redis keygen --out ~/.config/pmx-login/redis.key
export ` + envRedisKeyFile + `=~/.config/pmx-login/redis.key ` + envRedisURL + `=rediss://bot@redis.internal:6379/0
pmx-login login --keystore redis`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &redisKeygenOptions{app: a}
			fs.StringVar(&o.out, "out", "", "write the key to `FILE` (default --redis-key-file)")
			return func(context.Context) error { return runRedisKeygen(o) }
		},
	}
}

func runRedisKeygen(o *redisKeygenOptions) error {
	path := or(o.out, o.g.redisKeyFile)
	if path == "" {
		return usageErrorf(o.cmd, "give --out FILE (or --redis-key-file): where to write the new key")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageErrorf(o.cmd, "--out %s is a directory: give a file name such as %s/redis.key", path, path)
	}
	key, err := redis.WriteKeyFile(path)
	if errors.Is(err, fs.ErrExist) {
		return usageErrorf(o.cmd, "%s already exists: keygen never overwrites a key; choose another --out FILE or move the file away", path)
	}
	if err != nil {
		return err
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"key_file": path, "key_id": key.ID()})
	}
	_, err = fmt.Fprintf(o.io.Out, "Wrote a new Redis key to %s (mode 0600), key id %s.\n"+
		"Copy it to every machine that runs --keystore redis, and set %s to its path.\n", path, key.ID(), envRedisKeyFile)
	return err
}

func redisRekeyCommand() command {
	return command{
		name:    "redis rekey",
		summary: "Re-encrypt every session kept in Redis with the current key, after a key rotation",
		long: `Reads every record pmx-login keeps in Redis (under its key prefix) with the
current key or an older one (--redis-old-key-file, ` + envRedisOldKeyFiles + `) and writes
back, with the current key (--redis-key-file), each one an older key encrypted,
with the last user of each environment. Each write is a compare-and-set on the
record read, at the same generation: running processes see no change, a record
rewritten meanwhile is read again, and an interrupted run loses nothing (run
it again). It never contacts the exchange.

A rotation with the fleet running: (1) give every process the new key as an
old key; (2) swap, process by process: the new key as --redis-key-file, the old
one as --redis-old-key-file; (3) run redis rekey; (4) drop the old key.`,
		example: `export ` + envRedisKeyFile + `=/etc/pmx-login/redis-2.key ` + envRedisOldKeyFiles + `=/etc/pmx-login/redis-1.key
pmx-login redis rekey --keystore redis`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			return func(ctx context.Context) error { return runRedisRekey(ctx, a) }
		},
	}
}

func runRedisRekey(ctx context.Context, a *app) error {
	if a.g.keystore != settings.KeystoreRedis {
		return usageErrorf(a.cmd, "redis rekey works on --keystore redis (%s=redis), not %s", envKeystore, a.g.keystore)
	}
	if _, err := a.store(); err != nil {
		return err
	}
	key, err := redis.LoadKeyFile(a.g.redisKeyFile) // opened fine just now: for its id
	if err != nil {
		return err
	}
	keyID := key.ID()
	rekeyed, current, err := a.redis.Rekey(ctx)
	if err != nil {
		return fmt.Errorf("redis rekey: %s re-encrypted with key %s before this: %w", records(rekeyed), keyID, err)
	}
	if a.g.json {
		return writeJSON(a.io.Out, map[string]any{"key_id": keyID, "rekeyed": rekeyed, "current": current})
	}
	_, err = fmt.Fprintf(a.io.Out, "Re-encrypted %s with key %s; %d already used it.\n"+
		"Every record of this Redis is now encrypted with key %s: once every process has that key file, the old key files can go.\n",
		records(rekeyed), keyID, current, keyID)
	return err
}

// redisStatus reads what Redis says about the session of user in env:
// generation, last save, lock holder. Nil when the keystore is not Redis.
func (a *app) redisStatus(ctx context.Context, env, user string) (*redis.Status, error) {
	if a.redis == nil || user == "" {
		return nil, nil
	}
	return a.redis.Status(ctx, keystore.Key{Environment: env, Username: user, Item: keystore.ItemSession})
}

// printRedisStatus adds the Redis lines to status's text.
func (a *app) printRedisStatus(rs *redis.Status) {
	if rs == nil {
		return
	}
	w, now := a.io.Out, a.io.Now()
	if !rs.Stored {
		fmt.Fprintf(w, "generation:  none stored\n")
	} else {
		fmt.Fprintf(w, "generation:  %d (key %s)\n", rs.Generation, rs.KeyID)
		fmt.Fprintf(w, "saved:       %s (%s ago) by %s\n", clock(rs.SavedAt), shortDuration(max(now.Sub(rs.SavedAt), 0)), or(rs.SavedBy, "(unknown)"))
	}
	switch {
	case rs.Locked && rs.LockSilent:
		fmt.Fprintf(w, "lock:        held by %s, which stopped renewing it (dead or stalled); it ends in %s\n", or(rs.LockHolder, "(unknown)"), rs.LockTTL.Round(time.Millisecond))
	case rs.Locked:
		fmt.Fprintf(w, "lock:        held by %s for %s more, renewed while it works (a refresh is running)\n", or(rs.LockHolder, "(unknown)"), rs.LockTTL.Round(time.Millisecond))
	default:
		fmt.Fprintf(w, "lock:        free\n")
	}
}

// redisStatusJSON is the "redis" object of status --json.
func redisStatusJSON(rs *redis.Status) map[string]any {
	out := map[string]any{
		"stored": rs.Stored, "generation": rs.Generation, "key_id": rs.KeyID,
		"saved_at": nil, "saved_by": rs.SavedBy,
		"locked": rs.Locked, "lock_holder": rs.LockHolder, "lock_ttl_ms": rs.LockTTL.Milliseconds(), "lock_silent": rs.LockSilent,
	}
	if !rs.SavedAt.IsZero() {
		out["saved_at"] = rs.SavedAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// records says "1 record" or "n records".
func records(n int) string {
	if n == 1 {
		return "1 record"
	}
	return strconv.Itoa(n) + " records"
}
