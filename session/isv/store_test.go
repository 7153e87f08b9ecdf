package isv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestStoreKey(t *testing.T) {
	const aud = "https://api.preprod.polymarketexchange.com"
	long := "https://" + strings.Repeat("a", 300) + ".example.com"
	cases := []struct {
		name, tokenURL, audience, scope, wantEnv string
	}{
		{"auth0", "https://pmx-preprod.us.auth0.com/oauth/token", aud, "", "pmx-preprod.us.auth0.com"},
		{"port", "http://127.0.0.1:8443/oauth/token", aud, "", "127.0.0.1-8443"},
		{"ipv6", "http://[::1]:8443/oauth/token", aud, "", "1--8443"},
		{"other path", "https://Auth.Example.com/v2/token", aud, "", "auth.example.com-v2-token"},
		{"long host", long + "/oauth/token", aud, "", ""},
		{"long audience", "https://a.example.com/oauth/token", long, "read:a write:b", "a.example.com"},
		{"control character", "https://a.example.com/oauth/token", "aud\x00x", "", "a.example.com"},
	}
	mem := keystore.NewMemory()
	seen := map[keystore.Key]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := storeKey(c.tokenURL, testClientID, c.audience, c.scope)
			if c.wantEnv != "" && k.Environment != c.wantEnv {
				t.Errorf("environment %q, want %q", k.Environment, c.wantEnv)
			}
			if k.Item != keystore.ItemISV || !strings.HasPrefix(k.Username, testClientID) {
				t.Errorf("key %v: want item isv and a username starting with the client ID", k)
			}
			// The keystore accepts it.
			if err := mem.Set(t.Context(), k, &keystore.Record{AccessToken: "x", Generation: 1}); err != nil {
				t.Fatalf("key %v: %v", k, err)
			}
			if other, dup := seen[k]; dup {
				t.Errorf("cases %q and %q share key %v", other, c.name, k)
			}
			seen[k] = c.name
		})
	}
	a := storeKey("https://a.example.com/oauth/token", testClientID, aud, "write:b read:a")
	b := storeKey("https://a.example.com/oauth/token", testClientID, aud, "read:a write:b")
	c := storeKey("https://a.example.com/oauth/token", testClientID, aud, "read:a")
	d := storeKey("https://a.example.com/oauth/token", testClientID, aud+"/other", "read:a")
	if a != b || a == c || c == d {
		t.Errorf("scope order must not matter, scopes and audience must: %v %v %v %v", a, b, c, d)
	}
}

func TestSharedAdoptsStoredToken(t *testing.T) {
	tb := setup(t, traderapitest.AuthOptions{})
	store := keystore.NewMemory()
	a, b := tb.sharedSource(t, store, nil), tb.sharedSource(t, store, nil)
	ta, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tbTok, err := b.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ta != tbTok || tb.auth.Requests() != 1 || b.adopted.Load() != 1 || b.Scope() == "" {
		t.Fatalf("b: same token %t, %d requests, %d adopted, scope %q: want b to adopt a's token", ta == tbTok, tb.auth.Requests(), b.adopted.Load(), b.Scope())
	}
	if !a.Expiry().Equal(b.Expiry()) {
		t.Errorf("expiry a %s, b %s", a.Expiry(), b.Expiry())
	}
	rec, err := store.Get(t.Context(), a.cfg.storeKey)
	if err != nil || rec.Generation != 1 || rec.AccessLifetime != tb.auth.TokenTTL() || rec.AccessToken != ta || !rec.RefreshToken.IsZero() {
		t.Fatalf("stored %v (%v): want generation 1 with the token and its lifetime", rec, err)
	}
}

func TestSharedInvalidatedTokenNotAdoptedAgain(t *testing.T) {
	tb := setup(t, traderapitest.AuthOptions{})
	store := keystore.NewMemory()
	a := tb.sharedSource(t, store, nil)
	first, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a.Invalidate(first) // the API answered 401 to it
	second, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if second == first || tb.auth.Requests() != 2 {
		t.Fatalf("after Invalidate: new token %t, %d requests: want a new token requested", second != first, tb.auth.Requests())
	}
	rec, err := store.Get(t.Context(), a.cfg.storeKey)
	if err != nil || rec.AccessToken != second || rec.Generation != 2 {
		t.Fatalf("stored %v (%v): want the new token at generation 2", rec, err)
	}
}

// racingStore is a Memory store where another process writes right after
// the first Get: its token request then loses the compare-and-set.
type racingStore struct {
	*keystore.Memory
	once  sync.Once
	write func(ctx context.Context)
}

func (r *racingStore) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	rec, err := r.Memory.Get(ctx, k)
	r.once.Do(func() { r.write(ctx) })
	return rec, err
}

func TestSharedConflictAdoptsNewerToken(t *testing.T) {
	tb := setup(t, traderapitest.AuthOptions{})
	other := tb.source(t) // another process, its token stored meanwhile
	store := &racingStore{Memory: keystore.NewMemory()}
	a := tb.sharedSource(t, store, nil)
	var theirs *keystore.Record
	store.write = func(ctx context.Context) {
		tok, err := other.Token(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		theirs = &keystore.Record{AccessToken: tok, AccessExpiry: other.Expiry(), AccessLifetime: tb.auth.TokenTTL(), Generation: 1, SavedAt: time.Now()}
		if err := store.Memory.CompareAndSwap(ctx, a.cfg.storeKey, nil, theirs); err != nil {
			t.Error(err)
		}
	}
	tok, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok != theirs.AccessToken || a.adopted.Load() != 1 || a.requests.Load() != 1 {
		t.Fatalf("a got theirs %t, adopted %d, requested %d: want the stored token adopted after the conflict", tok == theirs.AccessToken, a.adopted.Load(), a.requests.Load())
	}
	if s := a.cfg.store; describeStore(s) != "memory" || !strings.Contains(fmt.Sprint(tb.config(func(c *Config) { c.Store = s })), "Store: memory") {
		t.Errorf("a Config printed does not name the store's backend: %s", tb.config(func(c *Config) { c.Store = s }))
	}
}

func TestSharedRedisWrongKey(t *testing.T) {
	good, rdb, _, _ := redisStore(t)
	_, otherKey := newKeyFile(t)
	wrong, err := redis.New(rdb, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	tb := setup(t, traderapitest.AuthOptions{})
	log := &helperproc.Buffer{}
	a, b := tb.sharedSource(t, good, nil), tb.sharedSource(t, wrong, log)
	ta, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tbTok, err := b.Token(t.Context()) // cannot decrypt: requests on its own
	if err != nil {
		t.Fatalf("a process with the wrong key: %v", err)
	}
	if tbTok == ta || b.requests.Load() != 1 || b.adopted.Load() != 0 {
		t.Fatalf("wrong key: own token %t, %d requests, %d adopted", tbTok != ta, b.requests.Load(), b.adopted.Load())
	}
	rec, err := good.Get(t.Context(), a.cfg.storeKey)
	if err != nil || rec.AccessToken != ta || rec.Generation != 1 {
		t.Fatalf("the stored token was changed by the process with the wrong key: %v (%v)", rec, err)
	}
	if out := log.String(); !strings.Contains(out, "could not read the shared token") || strings.Contains(out, tbTok.Reveal()) || strings.Contains(out, ta.Reveal()) {
		t.Fatalf("the failure was not logged, or the log holds a token:\n%s", out)
	}
}
