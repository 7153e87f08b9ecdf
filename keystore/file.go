package keystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// defaultLockWait bounds how long a [File] operation waits for another
// process to release the lock.
const defaultLockWait = 10 * time.Second

// File is a [Store] of JSON files, used only when the user asks for it.
// Each entry is one file, <dir>/<env>/<username>.<item>.json (the username
// escaped), mode 0600 in 0700 directories; the last user is in
// <dir>/<env>/last-user. Writes go to a temporary file that is synced and
// renamed into place, under an exclusive lock on <dir>/<env>/.lock; reads
// take the lock shared. So a process killed at any point leaves the old or
// the new record, and several processes may share one store. A file or
// directory that group or others can access, or that another user owns, is
// refused with [ErrInsecure]; lock and record files are opened without
// following a symbolic link. A store the running user cannot write (a
// read-only mount) can still be read: a reader opens the lock file
// read-only, and takes no lock when there is none and none can be created. On Windows the lock is LockFileEx and there is no mode or owner
// check: the directory's ACLs protect the files.
// File is safe for concurrent use.
type File struct {
	dir      string
	lockWait time.Duration
}

// DefaultDir returns the directory of the file backend:
// os.UserConfigDir()/pmx-login ($XDG_CONFIG_HOME/pmx-login on Linux).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("keystore: no user config directory for the session file (set XDG_CONFIG_HOME or HOME): %w", err)
	}
	return filepath.Join(base, "pmx-login"), nil
}

// NewFile returns a file [Store] in dir, creating dir with mode 0700 if it
// does not exist. It refuses a dir that group or others can access.
func NewFile(dir string) (*File, error) {
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
	if err := checkDir(abs); err != nil {
		return nil, err
	}
	return &File{dir: abs, lockWait: defaultLockWait}, nil
}

// Backend returns "file".
func (f *File) Backend() string { return BackendFile }

// Dir returns the directory the files are in.
func (f *File) Dir() string { return f.dir }

// envDir returns the directory of env, creating it when create is set. It
// returns an error matching fs.ErrNotExist when it does not exist.
func (f *File) envDir(env string, create bool) (string, error) {
	d := filepath.Join(f.dir, env)
	if create {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("keystore: creating %s: %w", d, err)
		}
	}
	if err := checkDir(d); err != nil {
		return "", err
	}
	return d, nil
}

// Get returns the record stored under k.
func (f *File) Get(ctx context.Context, k Key) (*Record, error) {
	k, err := k.normalize()
	if err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("%w: no %s stored for %s in %s", ErrNotFound, k.Item, k.Username, k.Environment)
	d, err := f.envDir(k.Environment, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, d, false, f.lockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return f.read(d, k)
}

// read reads the record of k in d; the caller holds the lock.
func (f *File) read(d string, k Key) (*Record, error) {
	path := filepath.Join(d, fileName(k.Username, k.Item))
	b, err := readSecure(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s stored for %s in %s", ErrNotFound, k.Item, k.Username, k.Environment)
	} else if err != nil {
		return nil, err
	}
	r, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("keystore: %s: %w: delete the file and log in again", path, err)
	}
	if err := belongs(k, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Set stores r under k and, for a session, records the last user.
func (f *File) Set(ctx context.Context, k Key, r *Record) error {
	return f.store(ctx, k, r, nil)
}

// store writes r under k under the environment's exclusive lock, after
// check (if set) has accepted what is stored now (nil: nothing).
func (f *File) store(ctx context.Context, k Key, r *Record, check func(k Key, cur *Record) error) error {
	k, rec, err := prepare(k, r)
	if err != nil {
		return err
	}
	b, err := Encode(&rec)
	if err != nil {
		return err
	}
	d, err := f.envDir(k.Environment, true)
	if err != nil {
		return err
	}
	unlock, err := lockDir(ctx, d, true, f.lockWait)
	if err != nil {
		return err
	}
	defer unlock()
	if check != nil {
		cur, err := getOrNil(f.read(d, k))
		if err != nil {
			return err
		}
		if err := check(k, cur); err != nil {
			return err
		}
	}
	return f.write(d, k, b)
}

// write stores an encoded record and, for a session, the last user; the
// caller holds the exclusive lock.
func (f *File) write(d string, k Key, b []byte) error {
	removeTemps(d)
	if err := writeAtomic(d, fileName(k.Username, k.Item), b); err != nil {
		return err
	}
	if k.Item != ItemSession {
		return nil
	}
	if err := writeAtomic(d, lastUserFile, []byte(k.Username+"\n")); err != nil {
		return fmt.Errorf("keystore: session stored, but recording the last user failed: %w", err)
	}
	return nil
}

// Delete removes the entry under k; the last user is kept.
func (f *File) Delete(ctx context.Context, k Key) error {
	return f.drop(ctx, k, nil)
}

// drop removes k's entry under the environment's exclusive lock, after
// check (if set) has accepted what is stored (an absent entry is not an
// error and is not checked).
func (f *File) drop(ctx context.Context, k Key, check func(k Key, cur *Record) error) error {
	k, err := k.normalize()
	if err != nil {
		return err
	}
	d, err := f.envDir(k.Environment, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	unlock, err := lockDir(ctx, d, true, f.lockWait)
	if err != nil {
		return err
	}
	defer unlock()
	if check != nil {
		cur, err := getOrNil(f.read(d, k))
		if err != nil || cur == nil {
			return err
		}
		if err := check(k, cur); err != nil {
			return err
		}
	}
	return f.remove(d, k)
}

// remove deletes k's file, keeping the last user; the caller holds the
// exclusive lock.
func (f *File) remove(d string, k Key) error {
	return removeSynced(d, fileName(k.Username, k.Item))
}

// LastUser returns the username of the session last stored for env.
func (f *File) LastUser(ctx context.Context, env string) (string, error) {
	if err := validEnvironment(env); err != nil {
		return "", err
	}
	d, err := f.envDir(env, false)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no last user recorded for %s", ErrNotFound, env)
	} else if err != nil {
		return "", err
	}
	unlock, err := lockDir(ctx, d, false, f.lockWait)
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
	b, err := readSecure(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no last user recorded for %s", ErrNotFound, filepath.Base(d))
	} else if err != nil {
		return "", err
	}
	u := strings.TrimSuffix(string(b), "\n")
	if err := validUsername(u); err != nil {
		return "", fmt.Errorf("%w: %s: %v: delete the file", ErrCorrupt, path, err)
	}
	return u, nil
}
