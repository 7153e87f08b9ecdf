package cli

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/traderapi"
)

// TestTokenRefreshesStale: `token` with a token inside its refresh margin
// refreshes it before printing (FreshToken), stores the new one, and
// prints it: a one-shot process starts no background refresh that its exit
// would cancel. --json prints the same token with its expiry.
func TestTokenRefreshesStale(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.now = f.srv.Now
	f.login(t)
	old, err := f.record(t, keystore.ItemSession)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Advance(old.AccessExpiry.Sub(f.srv.Now()) - 20*time.Second) // stale, still valid
	var tj struct {
		Token  string    `json:"token"`
		Expiry time.Time `json:"expiry"`
	}
	if err := json.Unmarshal([]byte(f.must(t, "", "token", "--json").out), &tj); err != nil {
		t.Fatal(err)
	}
	rec, err := f.record(t, keystore.ItemSession)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 || tj.Token == old.AccessToken.Reveal() {
		t.Fatalf("%d refresh calls, same token: %v; want one refresh and the new token", n, tj.Token == old.AccessToken.Reveal())
	}
	if tj.Token != rec.AccessToken.Reveal() || !tj.Expiry.Equal(rec.AccessExpiry.Truncate(time.Second)) {
		t.Errorf("token --json = expiry %s, stored %s (or another token): want the stored pair", tj.Expiry, rec.AccessExpiry)
	}
}
