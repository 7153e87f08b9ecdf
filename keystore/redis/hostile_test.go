package redis

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/storetest"
)

// TestStatusFieldsAreHostile: someone with write access to Redis plants
// terminal escapes (a screen clear, a hyperlink, an OSC 52 clipboard
// write, a bidi override) in the saved-by field and the lock holder, and a
// key id that is not one: Status shows none of them raw.
func TestStatusFieldsAreHostile(t *testing.T) {
	t.Parallel()
	rdb := redistest.StartServer(t).Client(t)
	s := newRedisStore(t, rdb, testKey(t))
	env := storetest.UniqueEnv("preprod")
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
	c := u.NewClient()
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
