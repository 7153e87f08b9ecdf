//go:build !unix

package keystore

import (
	"context"
	"path/filepath"
	"time"
)

// lockDir is a no-op where flock(2) does not exist (Windows, Plan 9, wasm).
// There, writes are still atomic renames, so a reader sees the old or the
// new record, but two writers are not serialised and the last-user file
// may lag behind the session written last.
func lockDir(ctx context.Context, _ string, _ bool, _ time.Duration) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return func() {}, nil
}

// lockPath is lockDir for one lock file.
func lockPath(ctx context.Context, path string, exclusive bool, wait time.Duration) (func(), error) {
	return lockDir(ctx, filepath.Dir(path), exclusive, wait)
}
