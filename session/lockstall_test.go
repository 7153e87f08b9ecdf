package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestLockNeverStallsAValidToken: another process holds the session's
// Redis lock (alive: its lease is renewed) and does not refresh. A process
// whose token is stale but valid asks FreshToken (what `pmx-login token`
// does): it gets its valid token instead of waiting for the lock; before,
// it waited until its token expired and then failed.
func TestLockNeverStallsAValidToken(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	x := startFleetExchange(t, traderapitest.Options{AccessTTL: ttl})
	url, keyFile := redistest.StartServer(t).URL(), writeRedisKey(t)
	store := openFleetStore(t, url, keyFile, "bot")
	m, err := session.New(session.Config{Client: x.client(t), Store: store, Margin: ttl / 2, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	holder := openFleetStore(t, url, keyFile, "holder")
	unlock, err := holder.Lock(t.Context(), keystore.Key{Environment: m.Status().Environment, Username: testUser, Item: keystore.ItemSession})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	first, _ := m.TokenInfo(t.Context())
	waitFor(t, ttl, "the token goes stale", func() bool { return time.Until(first.Expiry) < ttl/2-200*time.Millisecond })

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	info, err := m.FreshToken(ctx)
	switch {
	case err != nil:
		t.Fatalf("FreshToken behind another process's lock: %v", err)
	case info.Token != first.Token || !time.Now().Before(info.Expiry):
		t.Fatalf("FreshToken gave %v, want the valid stale token", info)
	}
	if u, err := x.Authenticate(info.Token.Reveal()); err != nil || u != testUser {
		t.Fatalf("the exchange refuses the token served: %v", err)
	}
	if n := x.Calls(traderapi.PathRefresh); n != 0 {
		t.Fatalf("%d refresh calls while another process held the lock", n)
	}
}
