// Package highwater keeps, in files shared by the processes of one
// machine, the highest generation of each stored session they have seen
// and the exchange's clock offset they last measured: the
// session.Generations that pmx-login and package settings give a manager,
// so that a session record written back from an old copy is refused.
package highwater

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// File is a session.Generations kept in a directory of small 0600
// files, one per environment and user, shared by the processes of one
// machine (one OS user). Two processes raising the same entry at the same
// instant may keep the lower of their two generations: the check is then
// one write behind, never wrong the other way.
type File struct{ dir string }

// New returns a File in dir (created 0700 on the first write).
func New(dir string) *File { return &File{dir: dir} }

func (g *File) path(env, user string) string {
	return filepath.Join(g.dir, url.PathEscape(env)+"@"+url.PathEscape(user))
}

// Seen reads the recorded generation; an entry missing or unreadable is 0.
func (g *File) Seen(env, user string) uint64 {
	b, err := os.ReadFile(g.path(env, user))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// Saw writes gen if it is higher than the recorded one (write and rename).
func (g *File) Saw(env, user string, gen uint64) error {
	if gen <= g.Seen(env, user) {
		return nil
	}
	return g.write(g.path(env, user), strconv.FormatUint(gen, 10))
}

// ClockOffset returns the exchange's clock minus this machine's for env,
// as a manager on this machine last measured it, and whether one did.
func (g *File) ClockOffset(env string) (time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(g.dir, "clock@"+url.PathEscape(env)))
	if err != nil {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	return d, err == nil
}

// SetClockOffset records a measured offset for env.
func (g *File) SetClockOffset(env string, d time.Duration) error {
	return g.write(filepath.Join(g.dir, "clock@"+url.PathEscape(env)), d.String())
}

// write replaces the file at path with line (write and rename, 0600).
func (g *File) write(path, line string) error {
	if err := os.MkdirAll(g.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(g.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(line + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
