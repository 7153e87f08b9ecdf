package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/names"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
)

// defaultLockWait bounds how long a [Store] operation waits for another
// process to release the lock.
const defaultLockWait = 10 * time.Second

// Store is a [keystore.Store] of JSON files, used only when the user asks for it.
// Each entry is one file, <dir>/<env>/<username>.<item>.json (the username
// escaped), mode 0600 in 0700 directories; the last user is in
// <dir>/<env>/last-user. Writes go to a temporary file that is synced and
// renamed into place, under an exclusive lock on <dir>/<env>/.lock; reads
// take the lock shared. So a process killed at any point leaves the old or
// the new record, and several processes may share one store. A file or
// directory that group or others can access, or that another user owns, is
// refused with [keystore.ErrInsecure]; lock and record files are opened without
// following a symbolic link. A store the running user cannot write (a
// read-only mount) can still be read: a reader opens the lock file
// read-only, and takes no lock when there is none and none can be created. On Windows the lock is LockFileEx and there is no mode or owner
// check: the directory's ACLs protect the files.
// Store is safe for concurrent use.
type Store struct {
	dir      string
	lockWait time.Duration
}

// DefaultDir returns the directory of the file backend:
// os.UserConfigDir()/pmx-login ($XDG_CONFIG_HOME/pmx-login on Linux).
func DefaultDir() (string, error) {
	return securefs.DefaultDir()
}

// New returns a file [keystore.Store] in dir, creating dir with mode 0700 if it
// does not exist. It refuses a dir that group or others can access.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("keystore: no directory given for the session files")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("keystore: session directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("keystore: creating the session directory: %w", err)
	}
	if err := securefs.CheckDir(abs); err != nil {
		return nil, err
	}
	return &Store{dir: abs, lockWait: defaultLockWait}, nil
}

// Backend returns "file".
func (f *Store) Backend() string { return "file" }

// Dir returns the directory the files are in.
func (f *Store) Dir() string { return f.dir }

// envDir returns the directory of env, creating it when create is set. It
// returns an error matching fs.ErrNotExist when it does not exist.
func (f *Store) envDir(env string, create bool) (string, error) {
	d := filepath.Join(f.dir, env)
	if create {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("keystore: creating %s: %w", d, err)
		}
	}
	if err := securefs.CheckDir(d); err != nil {
		return "", err
	}
	return d, nil
}

// Get returns the record stored under k.
func (f *Store) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("%w: no %s stored for %s in %s", keystore.ErrNotFound, k.Item, k.Username, k.Environment)
	d, err := f.envDir(k.Environment, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	unlock, err := securefs.LockDir(ctx, d, false, f.lockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return f.read(d, k)
}

// read reads the record of k in d; the caller holds the lock.
func (f *Store) read(d string, k keystore.Key) (*keystore.Record, error) {
	path := filepath.Join(d, securefs.FileName(k.Username, k.Item))
	b, err := securefs.ReadSecure(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s stored for %s in %s", keystore.ErrNotFound, k.Item, k.Username, k.Environment)
	} else if err != nil {
		return nil, err
	}
	r, err := keystore.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("keystore: %s: %w: delete the file and log in again", path, err)
	}
	if err := keystore.Belongs(k, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Set stores r under k and, for a session, records the last user.
func (f *Store) Set(ctx context.Context, k keystore.Key, r *keystore.Record) error {
	return f.store(ctx, k, r, nil)
}

// store writes r under k under the environment's exclusive lock, after
// check (if set) has accepted what is stored now (nil: nothing).
func (f *Store) store(ctx context.Context, k keystore.Key, r *keystore.Record, check func(k keystore.Key, cur *keystore.Record) error) error {
	k, rec, err := keystore.Prepare(k, r)
	if err != nil {
		return err
	}
	b, err := keystore.Encode(&rec)
	if err != nil {
		return err
	}
	d, err := f.envDir(k.Environment, true)
	if err != nil {
		return err
	}
	return f.checked(ctx, d, k, check, false, func() error { return f.write(d, k, b) })
}

// checked runs do under the environment directory d's exclusive lock,
// once check (if set) has accepted what is stored under k; with
// absentOK, nothing stored means nothing to do.
func (f *Store) checked(ctx context.Context, d string, k keystore.Key, check func(keystore.Key, *keystore.Record) error, absentOK bool, do func() error) error {
	unlock, err := securefs.LockDir(ctx, d, true, f.lockWait)
	if err != nil {
		return err
	}
	defer unlock()
	if check != nil {
		cur, err := getOrNil(f.read(d, k))
		switch {
		case err != nil:
			return err
		case cur == nil && absentOK:
			return nil
		}
		if err := check(k, cur); err != nil {
			return err
		}
	}
	return do()
}

// write stores an encoded record and, for a session, the last user; the
// caller holds the exclusive lock.
func (f *Store) write(d string, k keystore.Key, b []byte) error {
	securefs.RemoveTemps(d)
	if err := securefs.WriteAtomic(d, securefs.FileName(k.Username, k.Item), b); err != nil {
		return err
	}
	if k.Item != keystore.ItemSession {
		return nil
	}
	if err := securefs.WriteAtomic(d, lastUserFile, []byte(k.Username+"\n")); err != nil {
		return fmt.Errorf("keystore: session stored, but recording the last user failed: %w", err)
	}
	return nil
}

// Delete removes the entry under k; the last user is kept.
func (f *Store) Delete(ctx context.Context, k keystore.Key) error {
	return f.drop(ctx, k, nil)
}

// drop removes k's entry under the environment's exclusive lock, after
// check (if set) has accepted what is stored (an absent entry is not an
// error and is not checked).
func (f *Store) drop(ctx context.Context, k keystore.Key, check func(k keystore.Key, cur *keystore.Record) error) error {
	k, err := k.Normalize()
	if err != nil {
		return err
	}
	d, err := f.envDir(k.Environment, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	return f.checked(ctx, d, k, check, true, func() error { return f.remove(d, k) })
}

// remove deletes k's file, keeping the last user; the caller holds the
// exclusive lock.
func (f *Store) remove(d string, k keystore.Key) error {
	return securefs.RemoveSynced(d, securefs.FileName(k.Username, k.Item))
}

// LastUser returns the username of the session last stored for env.
func (f *Store) LastUser(ctx context.Context, env string) (string, error) {
	if err := names.CheckEnvironment(env); err != nil {
		return "", err
	}
	d, err := f.envDir(env, false)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no last user recorded for %s", keystore.ErrNotFound, env)
	} else if err != nil {
		return "", err
	}
	unlock, err := securefs.LockDir(ctx, d, false, f.lockWait)
	if err != nil {
		return "", err
	}
	defer unlock()
	return readLastUser(d)
}

// lastUserFile is the name of the file holding an environment's last user.
const lastUserFile = "last-user"

func readLastUser(d string) (string, error) {
	path := filepath.Join(d, lastUserFile)
	b, err := securefs.ReadSecure(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no last user recorded for %s", keystore.ErrNotFound, filepath.Base(d))
	} else if err != nil {
		return "", err
	}
	u := strings.TrimSuffix(string(b), "\n")
	if err := names.CheckUsername(u); err != nil {
		return "", fmt.Errorf("%w: %s: %v: delete the file", keystore.ErrCorrupt, path, err)
	}
	return u, nil
}
