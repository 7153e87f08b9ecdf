package redis

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// TestRekey rotates the key of a store holding sessions of two users and
// a TOTP entry: after Rekey, a process with only the new key reads all of
// them and the last user, and one with only the old key reads none.
func TestRekey(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	oldKey, newKey := testKey(t), testKey(t)
	before := newRedisStore(t, rdb, oldKey)
	ctx, env := t.Context(), storehelp.UniqueEnv("preprod")
	keys := []keystore.Key{
		{Environment: env, Username: "alice"},
		{Environment: env, Username: "alice", Item: keystore.ItemTOTP},
		{Environment: env, Username: "bob"},
	}
	for _, k := range keys {
		r := storehelp.Record(env, k.Username)
		if k.Item == keystore.ItemTOTP {
			r = &keystore.Record{Environment: env, Username: k.Username, OTPAuthURL: "otpauth://totp/pmx:alice?secret=JBSWY3DPEHPK3PXP"}
		}
		storehelp.MustSet(t, before, k, r)
	}
	want := map[keystore.Key]*keystore.Record{}
	for _, k := range keys {
		want[k] = storehelp.MustGet(t, before, k)
	}

	rotating := newRedisStore(t, rdb, newKey, WithOlderKeys(oldKey))
	rekeyed, current, err := rotating.Rekey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rekeyed != len(keys)+1 || current != 0 {
		t.Errorf("Rekey: %d re-encrypted, %d current; want %d re-encrypted (3 entries and the last user)", rekeyed, current, len(keys)+1)
	}
	after := newRedisStore(t, rdb, newKey)
	for _, k := range keys {
		got := storehelp.MustGet(t, after, k)
		storehelp.SameRecord(t, got, want[k])
		if got.Generation != want[k].Generation {
			t.Errorf("%s: generation %d after rekey, want %d (unchanged)", k, got.Generation, want[k].Generation)
		}
		if _, err := before.Get(ctx, k); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s with the old key only after rekey: %v, want ErrDecrypt", k, err)
		}
	}
	storehelp.WantLastUser(t, after, env, "bob")

	rekeyed, current, err = rotating.Rekey(ctx)
	if err != nil || rekeyed != 0 || current != len(keys)+1 {
		t.Errorf("second Rekey: %d re-encrypted, %d current, %v; want everything current", rekeyed, current, err)
	}
}

// TestRekeyLeavesForeignRecords: a record of a key the store does not
// hold is reported and left as it is; the others are re-encrypted.
func TestRekeyLeavesForeignRecords(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	oldKey, newKey, strange := testKey(t), testKey(t), testKey(t)
	env := storehelp.UniqueEnv("preprod")
	ka, kb := keystore.Key{Environment: env, Username: "alice"}, keystore.Key{Environment: env, Username: "bob", Item: keystore.ItemSession}
	storehelp.MustSet(t, newRedisStore(t, rdb, oldKey), ka, storehelp.Record(env, "alice"))
	storehelp.MustSet(t, newRedisStore(t, rdb, strange), kb, storehelp.Record(env, "bob"))

	rekeyed, _, err := newRedisStore(t, rdb, newKey, WithOlderKeys(oldKey)).Rekey(t.Context())
	var de *decryptError
	if !errors.As(err, &de) || de.Key != kb || !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Rekey over bob's foreign record: %v, want a DecryptError naming it", err)
	}
	if rekeyed != 1 {
		t.Errorf("Rekey re-encrypted %d, want alice's record", rekeyed)
	}
	storehelp.MustGet(t, newRedisStore(t, rdb, strange), kb) // left as it was
	storehelp.MustGet(t, newRedisStore(t, rdb, newKey), ka)
}

// TestRekeyWhileWriting runs Rekey beside writers that keep swapping one
// session, some with the old key as main key, some with the new: no
// write fails but lost races, every generation is kept, and in the end
// the record reads with the new key.
func TestRekeyWhileWriting(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	oldKey, newKey := testKey(t), testKey(t)
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	storehelp.MustSet(t, newRedisStore(t, rdb, oldKey), k, genRecord(env, "alice", 1))
	var wg sync.WaitGroup
	for w := range 4 {
		main, older := oldKey, newKey
		if w%2 == 1 {
			main, older = newKey, oldKey
		}
		s := newRedisStore(t, rdb, main, WithOlderKeys(older), WithSavedBy(fmt.Sprintf("w/%d", w)))
		wg.Go(func() { swapTimes(t, s, k, 20) })
	}
	rotating := newRedisStore(t, rdb, newKey, WithOlderKeys(oldKey))
	for range 20 {
		if _, _, err := rotating.Rekey(t.Context()); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	if _, _, err := rotating.Rekey(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := storehelp.MustGet(t, newRedisStore(t, rdb, newKey), k)
	if got.Generation != 1+4*20 {
		t.Errorf("generation %d after 80 swaps from 1, want 81", got.Generation)
	}
}

// swapTimes makes n successful compare-and-swaps on k, reading again after
// each lost race.
func swapTimes(t *testing.T, s *Store, k keystore.Key, n int) {
	for done := 0; done < n; {
		cur, err := s.Get(t.Context(), k)
		if err != nil {
			t.Error(err)
			return
		}
		err = s.CompareAndSwap(t.Context(), k, cur, genRecord(k.Environment, k.Username, cur.Generation+1))
		if errors.Is(err, keystore.ErrConflict) {
			continue
		}
		if err != nil {
			t.Error(err)
			return
		}
		done++
	}
}
