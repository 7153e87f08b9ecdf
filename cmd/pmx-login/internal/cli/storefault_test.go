package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// faultyStore is a real keystore whose writes of the items in fail fail
// while on is set: a keystore that can be read but not written (a full
// disk, a locked keychain collection).
type faultyStore struct {
	keystore.Store
	on   *atomic.Bool
	fail map[keystore.Item]bool
}

var errWriteRefused = errors.New("injected: the keystore refused the write")

func (s faultyStore) refuses(k keystore.Key) bool {
	item := k.Item
	if item == "" {
		item = keystore.ItemSession
	}
	return s.on.Load() && s.fail[item]
}

func (s faultyStore) Set(ctx context.Context, k keystore.Key, r *keystore.Record) error {
	if s.refuses(k) {
		return errWriteRefused
	}
	return s.Store.Set(ctx, k, r)
}

func (s faultyStore) CompareAndSwap(ctx context.Context, k keystore.Key, old, r *keystore.Record) error {
	if s.refuses(k) {
		return errWriteRefused
	}
	return s.Store.CompareAndSwap(ctx, k, old, r)
}

func (s faultyStore) Delete(ctx context.Context, k keystore.Key) error {
	if s.refuses(k) {
		return errWriteRefused
	}
	return s.Store.Delete(ctx, k)
}

func (s faultyStore) CompareAndDelete(ctx context.Context, k keystore.Key, old *keystore.Record) error {
	if s.refuses(k) {
		return errWriteRefused
	}
	return s.Store.CompareAndDelete(ctx, k, old)
}

// runFaulty runs args over the fixture's file keystore wrapped in a
// faultyStore refusing writes of items while on is set.
func (f *fixture) runFaulty(t *testing.T, on *atomic.Bool, items []keystore.Item, stdin string, args ...string) result {
	t.Helper()
	fail := map[keystore.Item]bool{}
	for _, it := range items {
		fail[it] = true
	}
	s := IOStreams{In: strings.NewReader(stdin), wrapStore: func(st keystore.Store) keystore.Store {
		return faultyStore{Store: st, on: on, fail: fail}
	}}
	return f.runStreams(t, s, args...)
}

func always() *atomic.Bool {
	var b atomic.Bool
	b.Store(true)
	return &b
}

// Issue 12 item 2: a keystore that cannot be written stops login before the
// password is asked for or anything is sent.
func TestLoginChecksKeystoreBeforeAnything(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	all := []keystore.Item{keystore.ItemSession, keystore.ItemOTPStep, keystore.ItemTOTP}
	r := f.runFaulty(t, always(), all, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitFailure, "cannot save a session", "--keystore file")
	if n := f.srv.Calls(traderapi.PathLogin); n != 0 {
		t.Errorf("login called %d times with an unwritable keystore, want 0", n)
	}
	// On a terminal: no prompt either.
	s := IOStreams{In: strings.NewReader(""), InTTY: true, ReadSecret: func(_ context.Context, p string) (string, error) {
		t.Errorf("prompted %q with an unwritable keystore", p)
		return "", context.Canceled
	}, wrapStore: func(st keystore.Store) keystore.Store {
		return faultyStore{Store: st, on: always(), fail: map[keystore.Item]bool{keystore.ItemOTPStep: true}}
	}}
	wantCode(t, f.runStreams(t, s, "login", "--username", testUser), exitFailure, "cannot save a session")
}

// Issue 12 item 2: a session the exchange issued but the keystore could not
// save is revoked at once, and the command fails.
func TestLoginRevokesUnsavedSession(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	r := f.runFaulty(t, always(), []keystore.Item{keystore.ItemSession}, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitFailure, "keystore was not updated", "revoked", "keystore")
	if n := f.srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login called %d times, want 1", n)
	}
	if n := f.srv.Calls(traderapi.PathLogout); n != 1 {
		t.Errorf("logout (revoke) called %d times, want 1: the issued session is orphaned", n)
	}
	if _, err := f.record(t, keystore.ItemSession); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a session is stored: %v", err)
	}
}

// Issue 10 item 10: logout whose keystore delete fails, and refresh whose
// save fails, exit non-zero with a hint instead of reporting success.
func TestLogoutAndRefreshReportStoreFailures(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	r := f.runFaulty(t, always(), []keystore.Item{keystore.ItemSession}, "", "refresh")
	wantCode(t, r, exitFailure, "keystore was not updated", "keystore could not be written")
	if strings.Contains(r.out, "Refreshed") {
		t.Errorf("refresh printed success: %v", r)
	}
	f.login(t)
	r = f.runFaulty(t, always(), []keystore.Item{keystore.ItemSession}, "", "logout")
	wantCode(t, r, exitFailure, "could not be removed", "keystore could not be written")
	if strings.Contains(r.out, "session removed") {
		t.Errorf("logout printed success: %v", r)
	}
}

// hangingKeychain is a keychain that never answers: every call waits for
// its context, as go-keyring does on a Secret Service stuck on an unlock
// prompt.
type hangingKeychain struct{ keystore.Store }

func (hangingKeychain) Backend() string { return settings.KeystoreKeyring }

func (hangingKeychain) Get(ctx context.Context, _ keystore.Key) (*keystore.Record, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("keystore: keychain call abandoned: %w", ctx.Err())
}

func (hangingKeychain) LastUser(ctx context.Context, _ string) (string, error) {
	<-ctx.Done()
	return "", fmt.Errorf("keystore: keychain call abandoned: %w", ctx.Err())
}

// Issue 12 item 19: a keychain that hangs past --timeout is named as the
// keychain, not the network.
func TestKeychainHangNamedAsKeychain(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	s := IOStreams{wrapStore: func(st keystore.Store) keystore.Store { return hangingKeychain{st} }}
	for _, args := range [][]string{{"token"}, {"status"}, {"login", "--username", testUser, "--password-stdin"}} {
		s.In = strings.NewReader(testPassword + "\n")
		r := f.runStreams(t, s, append([]string{"--timeout", "300ms"}, args...)...)
		wantCode(t, r, exitFailure, "the keychain did not answer", "--keystore file")
		if strings.Contains(r.err, "network") {
			t.Errorf("%v: a hung keychain is blamed on the network: %s", args, r.err)
		}
	}
}
