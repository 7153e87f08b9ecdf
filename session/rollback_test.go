package session_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmx-login/pmx-login/internal/highwater"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// snapshot copies every file under dir, as someone with write access to
// the store but no key could.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// writeBack writes a snapshot's files back in place.
func writeBack(t *testing.T, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRollbackIsRefused: a live session's record is copied, the session
// is logged out (the revoke blocked by a proxy, so the refresh token still
// works on the exchange), and the copy is written back. A process on the
// machine that saw the logout refuses the copy: no token is served and no
// refresh is made from it.
func TestRollbackIsRefused(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	storeDir, gens := filepath.Join(dir, "store"), highwater.New(filepath.Join(dir, "generations"))
	store, err := file.New(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	newManager := func() *session.Manager {
		client, err := srv.Client()
		if err != nil {
			t.Fatal(err)
		}
		m, err := session.New(session.Config{Client: client, Store: store, Username: testUser, Generations: gens})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	if err := newManager().Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	copied := snapshot(t, storeDir)
	srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Status: 503})
	if err := newManager().Logout(t.Context()); !errors.Is(err, session.ErrNotRevoked) {
		t.Fatalf("Logout with the revoke blocked = %v, want ErrNotRevoked", err)
	}
	srv.ClearFaults()
	writeBack(t, copied)
	refreshes := srv.Calls(traderapi.PathRefresh)
	m := newManager()
	err = m.Resume(t.Context())
	if !errors.Is(err, session.ErrRolledBack) || !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("Resume of the rolled-back record = %v, want ErrRolledBack (and ErrNotLoggedIn)", err)
	}
	if _, err := m.Token(t.Context()); err == nil {
		t.Fatal("Token served the rolled-back session's token")
	}
	if err := m.Refresh(t.Context()); err == nil || srv.Calls(traderapi.PathRefresh) != refreshes {
		t.Fatalf("Refresh from the rolled-back record = %v (refresh calls %d → %d)", err, refreshes, srv.Calls(traderapi.PathRefresh))
	}
}
