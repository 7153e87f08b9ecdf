package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestRollbackRefused: the file keystore's session is copied, logged out
// (the revoke blocked, so its refresh token still works), and the copy is
// written back: status does not say logged in, token and refresh refuse
// it (exit 3, the rollback named) and make no call to the exchange.
func TestRollbackRefused(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	path := filepath.Join(f.dir, "pmx-login", "preprod")
	copied := map[string][]byte{}
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(path, e.Name())); err == nil {
			copied[e.Name()] = b
		}
	}
	f.srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Status: 503})
	wantCode(t, f.run(t, "", "logout"), exitUnreachable)
	f.srv.ClearFaults()
	for name, b := range copied {
		if err := os.WriteFile(filepath.Join(path, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	calls := f.srv.Calls(traderapi.PathRefresh)
	if r := f.run(t, "", "status"); strings.Contains(r.out, "Logged in") || !strings.Contains(r.err, "rolled back") {
		t.Errorf("status on a rolled-back record:\n%s", r)
	}
	wantCode(t, f.run(t, "", "token"), exitNotLoggedIn, "rolled back")
	wantCode(t, f.run(t, "", "refresh"), exitNotLoggedIn, "rolled back")
	if n := f.srv.Calls(traderapi.PathRefresh); n != calls {
		t.Errorf("refresh calls %d → %d from a rolled-back record", calls, n)
	}
}
