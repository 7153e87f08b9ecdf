package file

import (
	"context"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// readOnlyCheck is run by a reader for whom the store's environment
// directory is read-only: Get and LastUser work, and Set fails.
func readOnlyCheck(dir string) error {
	ctx := context.Background()
	f, err := New(dir)
	if err != nil {
		return fmt.Errorf("New: %w", err)
	}
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	r, err := f.Get(ctx, k)
	if err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	if r.RefreshToken != storehelp.Refresh {
		return fmt.Errorf("Get returned another record")
	}
	if u, err := f.LastUser(ctx, "preprod"); err != nil || u != "alice" {
		return fmt.Errorf("LastUser = %q, %v", u, err)
	}
	if err := f.Set(ctx, k, storehelp.Record("", "")); err == nil {
		return fmt.Errorf("Set on a read-only store succeeded")
	}
	fmt.Println("read-only ok")
	return nil
}
