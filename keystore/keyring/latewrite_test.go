package keyring

import (
	"errors"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// slowFirstSet is a keychain whose first Set hangs until released and
// then lands, as a Secret Service does when it answers late.
type slowFirstSet struct {
	*mapSecrets
	release chan struct{}
	landed  chan struct{}
	first   chan struct{} // closed by the first Set
}

func (s *slowFirstSet) Set(service, user, secret string) error {
	select {
	case <-s.first:
		return s.mapSecrets.Set(service, user, secret)
	default:
	}
	close(s.first)
	<-s.release
	defer close(s.landed)
	return s.mapSecrets.Set(service, user, secret)
}

// TestKeyringLateWriteNeverBeatsAReportedOne (issue 16, scenario 5): a
// compare-and-set whose keychain write timed out still holds the write
// lock until that write has returned, so another process's
// compare-and-set cannot succeed in between and then be overwritten by
// the late write. The other one waits, reads what the late write stored
// and reports a conflict; whatever a caller was told succeeded is what
// is stored.
func TestKeyringLateWriteNeverBeatsAReportedOne(t *testing.T) {
	t.Parallel()
	kc := &slowFirstSet{mapSecrets: newMapSecrets(), release: make(chan struct{}), landed: make(chan struct{}), first: make(chan struct{})}
	dir := testLockDir(t)
	a := New(withSecrets(kc), dir, WithTimeout(50*time.Millisecond))
	b := New(withSecrets(kc), dir, WithTimeout(5*time.Second)) // another process: same keychain, same lock directory
	key := keystore.Key{Environment: "preprod", Username: "alice"}
	recA, recB := storehelp.Generation("preprod", "alice", 1), storehelp.Generation("preprod", "alice", 2)

	if err := a.CompareAndSwap(t.Context(), key, nil, recA); !errors.Is(err, keystore.ErrUnavailable) {
		t.Fatalf("A's compare-and-set with its write hanging: %v, want a keychain timeout", err)
	}
	bDone := make(chan error, 1)
	go func() { bDone <- b.CompareAndSwap(t.Context(), key, nil, recB) }()
	time.AfterFunc(100*time.Millisecond, func() { close(kc.release) })
	errB := <-bDone
	<-kc.landed
	stored := storehelp.MustGet(t, b, key)
	if errB == nil && stored.Generation != recB.Generation {
		t.Fatalf("B's compare-and-set reported success, then A's late write replaced it (stored generation %d)", stored.Generation)
	}
	if !errors.Is(errB, keystore.ErrConflict) || stored.Generation != recA.Generation {
		t.Fatalf("B: %v, stored generation %d; want a conflict with A's late record (generation 1)", errB, stored.Generation)
	}
}
