//go:build !unix && !windows

package securefs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LockDir is a no-op where neither flock(2) nor LockFileEx exists (Plan 9,
// wasm). There, writes are still atomic renames, so a reader sees the old
// or the new record, but two writers are not serialised and the last-user
// file may lag behind the session written last.
func LockDir(ctx context.Context, _ string, _ bool, _ time.Duration) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return func() {}, nil
}

// LockPath is LockDir for one lock file.
func LockPath(ctx context.Context, path string, exclusive bool, wait time.Duration) (func(), error) {
	return LockDir(ctx, filepath.Dir(path), exclusive, wait)
}

// openNoFollow opens path; these systems have no O_NOFOLLOW.
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

// openError describes a failed open of path.
func openError(what, _ string, err error) error { return fmt.Errorf("keystore: %s: %w", what, err) }
