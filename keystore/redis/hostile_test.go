package redis

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// TestStatusFieldsAreHostile: someone with write access to Redis plants
// terminal escapes (a screen clear, a hyperlink, an OSC 52 clipboard
// write, a bidi override) in the saved-by field and the lock holder, and a
// key id that is not one: Status shows none of them raw.
func TestStatusFieldsAreHostile(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	s := newRedisStore(t, rdb, testKey(t))
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	if err := s.Set(t.Context(), k, genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	evil := "\x1b[2J\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b]52;c;cm0gLXJmIH4=\x07\u202egnp.exe\x9b31m"
	kk, _ := k.Normalize()
	ctx := t.Context()
	if err := rdb.HSet(ctx, s.base(kk), "b", evil, "k", "\x1b[31mdeadbeef").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, s.lockKey(kk), "owner "+evil, 0).Err(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"saved by": st.SavedBy, "lock holder": st.LockHolder, "key id": st.KeyID} {
		if strings.ContainsAny(v, "\x1b\x07\u202e") || strings.Contains(v, "\x9b") {
			t.Errorf("%s shown raw: %q", name, v)
		}
	}
	if st.KeyID != "(not a key id)" {
		t.Errorf("key id = %q", st.KeyID)
	}
	if !strings.Contains(st.SavedBy, "click") {
		t.Errorf("saved by lost its text: %q", st.SavedBy)
	}
}

// TestConnectionsAreNamed: CLIENT LIST shows each connection of ours as
// pmx-login/HOST/PID.
func TestConnectionsAreNamed(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	u, err := ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := u.newClient()
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := "name=pmx-login/"
	if !strings.Contains(list, want) || !strings.Contains(list, "/"+strconv.Itoa(os.Getpid())+" ") {
		t.Fatalf("CLIENT LIST has no %s...%d connection:\n%s", want, os.Getpid(), list)
	}
}

// TestRecordBoundToPrefix: two deployments share a Redis and a key under
// different prefixes; a record copied from one prefix to the other does
// not decrypt there, and the error says it was moved or altered.
func TestRecordBoundToPrefix(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	key := testKey(t)
	a := newRedisStore(t, rdb, key, WithKeyPrefix("firm-a"))
	b := newRedisStore(t, rdb, key, WithKeyPrefix("firm-b"))
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	if err := a.Set(t.Context(), k, genRecord(env, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	kk, _ := k.Normalize()
	if err := rdb.Copy(t.Context(), a.base(kk), b.base(kk), 0, true).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := b.Get(t.Context(), k)
	var de *decryptError
	if !errors.As(err, &de) || errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "moved") {
		t.Fatalf("a record copied to another prefix: %v, want a DecryptError saying it was moved", err)
	}
	if _, err := a.Get(t.Context(), k); err != nil {
		t.Fatalf("the record under its own prefix: %v", err)
	}
}

// TestLastUserIsSealed: someone who can write to Redis but has no key
// sets the last user to another stored user: it is not taken (no last
// user), while the one a login stored is.
func TestLastUserIsSealed(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	s := newRedisStore(t, rdb, testKey(t))
	env := storehelp.UniqueEnv("preprod")
	for _, u := range []string{"victim", "alice"} {
		if err := s.Set(t.Context(), keystore.Key{Environment: env, Username: u}, genRecord(env, u, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if u, err := s.LastUser(t.Context(), env); err != nil || u != "alice" {
		t.Fatalf("LastUser = %q, %v; want alice", u, err)
	}
	if v, _ := rdb.Get(t.Context(), s.lastKey(env)).Result(); strings.Contains(v, "alice") {
		t.Fatalf("the last user is stored in the clear: %q", v)
	}
	for planted, want := range map[string]error{
		"victim": keystore.ErrNotFound, "v2 " + s.seal.current.id + " AAAA": keystore.ErrNotFound,
		"v2 0123456789ab AAAA": ErrDecrypt, // names a key this store lacks: a wrong key file, says so
	} {
		if err := rdb.Set(t.Context(), s.lastKey(env), planted, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if u, err := s.LastUser(t.Context(), env); u != "" || !errors.Is(err, want) {
			t.Fatalf("a planted last user %q: LastUser = %q, %v; want %v", planted, u, err, want)
		}
	}
}
