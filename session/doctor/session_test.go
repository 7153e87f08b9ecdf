package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestStoredSession(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{RefreshTTL: 7 * 24 * time.Hour})
	cfg := tb.config()
	want(t, check(t, cfg, (*runner).storedSession), OK, "session of trader-1 in sandbox; refresh token valid until", "")

	cfg.Username = "" // the last user
	want(t, check(t, cfg, (*runner).storedSession), OK, "session of trader-1", "")

	cfg.Now = clockAt(7*24*time.Hour - time.Hour)
	want(t, check(t, cfg, (*runner).storedSession), Warn, "the refresh token expires", "log in again before then (run `pmx-login login`)")

	cfg.Now = clockAt(8 * 24 * time.Hour)
	want(t, check(t, cfg, (*runner).storedSession), Fail, "the refresh token expired", "run `pmx-login login`")
}

func TestStoredSessionMissing(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	cfg := tb.config()
	cfg.Username = "somebody-else"
	want(t, check(t, cfg, (*runner).storedSession), Fail, "no stored session for somebody-else in sandbox", "run `pmx-login login`")
	want(t, check(t, cfg, (*runner).accessToken), Skipped, "no stored session", "")
	want(t, check(t, cfg, (*runner).trialRefresh), Skipped, "no stored session to refresh", "")

	cfg.Username = ""
	cfg.Store = keystore.NewMemory()
	want(t, check(t, cfg, (*runner).storedSession), Fail, "nobody has logged in to sandbox", "run `pmx-login login`")

	cfg.ISV = &ISVConfig{} // a partner may have no trader session
	want(t, check(t, cfg, (*runner).storedSession), Skipped, "checking the ISV credentials only", "")

	cfg.Store = nil
	want(t, check(t, cfg, (*runner).storedSession), Skipped, "no keystore given", "")
}

// unavailableStore is a keychain that does not answer, as keystore reports
// it.
type unavailableStore struct{}

func (unavailableStore) Get(context.Context, keystore.Key) (*keystore.Record, error) {
	return nil, keyring.ErrLocked
}

func (unavailableStore) LastUser(context.Context, string) (string, error) {
	return "", keyring.ErrLocked
}

func TestStoredSessionKeychainUnavailable(t *testing.T) {
	t.Parallel()
	cfg := Config{Env: traderapi.Environment{Name: "preprod"}, Store: unavailableStore{}, Username: user}
	want(t, check(t, cfg, (*runner).storedSession), Fail, "keychain", "--keystore file")
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{AccessTTL: time.Hour})
	cfg := tb.config()
	c := check(t, cfg, (*runner).accessToken)
	want(t, c, OK, `sub trader-1; iss "https://rest.preprod.polymarketexchange.com", aud "rest.preprod.polymarketexchange.com"`, "")
	want(t, c, OK, "expires 20", "")
	want(t, c, OK, "(in 59m", "")
	want(t, c, OK, "scopes: (none)", "")

	cfg.Now = clockAt(time.Hour - 30*time.Second)
	want(t, check(t, cfg, (*runner).accessToken), Warn, "about to expire", "refresh at least 60s before exp")

	cfg.Now = clockAt(2 * time.Hour)
	c = check(t, cfg, (*runner).accessToken)
	want(t, c, Warn, "the cached token has expired", "`pmx-login token` refreshes it")
	want(t, c, Warn, "(1h0m ago)", "")

	cfg.Now = clockAt(-10 * time.Minute)
	want(t, check(t, cfg, (*runner).accessToken), Warn, "issued in the future", "see the clock skew check")
}

func TestAccessTokenWrongEnvironment(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	// Log in to a prod exchange, and store that session as the sandbox's
	// (which stands for preprod).
	prod, prodSrv := newExchange(t, traderapitest.Options{Host: "rest.prod.polymarketexchange.com"})
	pc, err := traderapi.NewClient(traderapi.Environment{Name: "prod", BaseURL: prodSrv.URL, Host: prod.Host()})
	if err != nil {
		t.Fatal(err)
	}
	tb.login(t, pc, tb.env.Name)
	c := check(t, tb.config(), (*runner).accessToken)
	want(t, c, Fail, "issued for prod, but the selected environment is preprod", "use --env prod")
	want(t, c, Fail, `aud "rest.prod.polymarketexchange.com"`, "or run `pmx-login login --env sandbox`")
}

func TestAccessTokenShapes(t *testing.T) {
	t.Parallel()
	env := traderapi.Environment{Name: "preprod", BaseURL: "https://traderapi.us-east-1.privatelink.preprod.polymarketexchange.com",
		Host: "rest.preprod.polymarketexchange.com"}
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	for _, tc := range []struct {
		name   string
		claims string
		status Status
		saw    string
	}{
		{"scopes listed", fmt.Sprintf(`{"exp":%d,"scope":"read:orders write:orders"}`, exp), OK, "scopes: read:orders write:orders"},
		{"Auth0 permissions", fmt.Sprintf(`{"exp":%d,"permissions":["read:orders","write:orders"]}`, exp), OK, "scopes: read:orders write:orders"},
		{"API audience of the environment", fmt.Sprintf(`{"exp":%d,"aud":"https://api.preprod.polymarketexchange.com"}`, exp), OK, "aud"},
		{"another environment by URL", fmt.Sprintf(`{"exp":%d,"iss":"https://pmx-dev01.us.auth0.com/"}`, exp), Fail, "issued for dev01"},
		{"unknown issuer", fmt.Sprintf(`{"exp":%d,"iss":"https://example.com"}`, exp), OK, `iss "https://example.com"`},
		{"no exp", `{"sub":"x"}`, Warn, "no exp claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := traderapi.Secret(jwtOf(`{"alg":"HS256","typ":"JWT"}`, tc.claims))
			want(t, inspectAccessToken(env, tok, now), tc.status, tc.saw, "")
		})
	}
	want(t, inspectAccessToken(env, "opaque-token-abc", now), Skipped, "opaque", "")
	want(t, inspectAccessToken(env, "eyJhbGciOiJIUzI1NiJ9.eyJleHAi", now), Warn, "this has 2; is it cut short?", "`pmx-login refresh` replaces it")
}

func TestTrialRefresh(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	cfg := tb.config()
	before := tb.record(t)
	want(t, check(t, cfg, (*runner).trialRefresh), OK, "the exchange issued a new access token", "")
	if tb.ex.Calls(traderapi.PathRefresh) != 1 {
		t.Errorf("refresh calls = %d, want 1", tb.ex.Calls(traderapi.PathRefresh))
	}
	if after := tb.record(t); after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken {
		t.Error("the trial refresh changed the stored session")
	}

	tb.ex.RevokeRefreshTokens(user)
	c := check(t, cfg, (*runner).trialRefresh)
	want(t, c, Fail, "refresh token revoked", "run `pmx-login login`: the refresh token was revoked")
	want(t, c, Fail, "401 Unauthorized", "")

	// A refresh the exchange misroutes gets the error's diagnosis as its fix.
	tb.ex.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: http.StatusMisdirectedRequest, HTML: true})
	want(t, check(t, cfg, (*runner).trialRefresh), Fail, "421", "give the environment's REST host with --host")
	tb.ex.ClearFaults()
	if _, err := tb.store.Get(t.Context(), keystore.Key{Environment: tb.env.Name, Username: user}); err != nil {
		t.Errorf("the doctor removed the dead session: %v", err)
	}

	cfg.Refresh = nil
	want(t, check(t, cfg, (*runner).trialRefresh), Skipped, "no refresher given", "")
}

func TestTrialRefreshUnreachable(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	cfg := tb.config()
	tb.srv.Close()
	want(t, check(t, cfg, (*runner).trialRefresh), Fail, "the refresh failed", "see the reachability check")

	cfg.Refresh = func(context.Context) error { return fmt.Errorf("wrapped: %w", traderapi.ErrUnavailable) }
	want(t, check(t, cfg, (*runner).trialRefresh), Fail, "wrapped", "try again in a few minutes")
	cfg.Refresh = func(context.Context) error { return errors.New("something else") }
	want(t, check(t, cfg, (*runner).trialRefresh), Fail, "something else", "")
}
