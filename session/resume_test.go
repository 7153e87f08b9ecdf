package session_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestResumedSessionRefreshesAtTheOriginalPoint: with an 8 s access token
// (margin capped at 4 s), a new process's token right after login makes no
// refresh call, refresh makes exactly one, and logout none before it
// revokes, each run as a fresh manager on the shared file store.
func TestResumedSessionRefreshesAtTheOriginalPoint(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: 8 * time.Second})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	store, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	process := func() *session.Manager {
		client, err := traderapi.NewClient(srv.Environment())
		if err != nil {
			t.Fatal(err)
		}
		m, err := session.New(session.Config{Client: client, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	if err := process().Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	token := process()
	if err := token.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := token.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Fatalf("token right after login: %d refresh calls, want 0", n)
	}
	refresh := process()
	if err := refresh.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := refresh.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Fatalf("refresh: %d refresh calls, want 1", n)
	}
	if err := process().Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, l := srv.Calls(traderapi.PathRefresh), srv.Calls(traderapi.PathLogout); n != 1 || l != 1 {
		t.Fatalf("logout: refresh calls %d (want still 1), logout calls %d (want 1)", n, l)
	}
}

// TestExpiryMeasuredFromSending: a token whose answer was held on the way
// expires a lifetime after the request was sent, not after the answer
// arrived.
func TestExpiryMeasuredFromSending(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 10 * time.Second}, session.Config{})
	f.login(t)
	h := f.srv.Hold(traderapi.PathRefresh)
	sent := time.Now()
	done := make(chan error, 1)
	go func() { done <- f.m.Refresh(t.Context()) }()
	<-h.Arrived()
	time.Sleep(2 * time.Second)
	h.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	info, err := f.m.TokenInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if limit := sent.Add(10*time.Second + time.Second); info.Expiry.After(limit) {
		t.Fatalf("expiry %s is more than a lifetime after sending (%s): measured from the answer", info.Expiry, sent)
	}
}
