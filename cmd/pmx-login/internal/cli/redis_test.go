package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// redisFixture is a fixture whose keystore is a real redis-server, with a
// key file written by `redis keygen`.
func redisFixture(t *testing.T) (*fixture, *redistest.Server, string) {
	t.Helper()
	srv := redistest.StartServer(t)
	f := setup(t).withUser(t)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	f.vars["PMX_KEYSTORE"] = "redis"
	f.vars["PMX_REDIS_URL"] = srv.URL()
	f.vars["PMX_REDIS_KEY_FILE"] = keyFile
	f.must(t, "", "redis keygen")
	return f, srv, keyFile
}

// TestRedisKeygen: the key file is mode 0600, the command prints its id and
// never the key, and refuses to overwrite a file.
func TestRedisKeygen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	path := filepath.Join(t.TempDir(), "redis.key")
	r := f.must(t, "", "redis keygen", "--out", path)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(path)
	key, err := redis.LoadKeyFile(path)
	if err != nil {
		t.Fatalf("keygen wrote a key LoadKeyFile refuses: %v", err)
	}
	line := strings.TrimSpace(string(b))
	if strings.Contains(r.out+r.err, line) || strings.Contains(r.out+r.err, line[:16]) || !strings.Contains(r.out, key.ID()) {
		t.Fatalf("keygen printed the key, or not its id %s:\n%v", key.ID(), r)
	}
	r = f.run(t, "", "redis keygen", "--out", path, "--json")
	wantCode(t, r, exitUsage, "already exists", "never overwrites")
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Fatal("keygen changed an existing key file")
	}
	wantCode(t, f.run(t, "", "redis keygen"), exitUsage, "--out FILE")
}

// TestRedisKeystoreFlow: login with --keystore redis, then token from a
// second run with no refresh call, status with generation, saved-by and
// the lock, logout, and a login that still knows the user.
func TestRedisKeystoreFlow(t *testing.T) {
	t.Parallel()
	f, srv, keyFile := redisFixture(t)
	f.login(t)
	tok := strings.TrimSpace(f.must(t, "", "token").out)
	if strings.Count(tok, ".") != 2 || f.srv.Calls(traderapi.PathRefresh) != 0 {
		t.Fatalf("token: %q after %d refresh calls, want the stored JWT and 0 calls", tok, f.srv.Calls(traderapi.PathRefresh))
	}
	var tj struct{ Token, Expiry string }
	if err := json.Unmarshal([]byte(f.must(t, "", "token", "--json").out), &tj); err != nil || tj.Token != tok || !strings.HasSuffix(tj.Expiry, "Z") {
		t.Fatalf("token --json = %+v, %v; want the same token and an RFC 3339 UTC expiry", tj, err)
	}

	// Hold the session's lock as a refreshing process would.
	st, err := redis.Open(srv.URL(), keyFile, redis.WithSavedBy("bot-7/42"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	unlock, err := st.Lock(t.Context(), keystore.Key{Environment: "preprod", Username: testUser})
	if err != nil {
		t.Fatal(err)
	}
	var sj struct {
		Keystore string `json:"keystore"`
		Redis    struct {
			Generation uint64 `json:"generation"`
			SavedAt    string `json:"saved_at"`
			SavedBy    string `json:"saved_by"`
			Locked     bool   `json:"locked"`
			LockHolder string `json:"lock_holder"`
		} `json:"redis"`
	}
	if err := json.Unmarshal([]byte(f.must(t, "", "status", "--json").out), &sj); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if rs := sj.Redis; rs.Generation < 1 || rs.SavedAt == "" || !strings.HasPrefix(rs.SavedBy, host+"/") || !rs.Locked || rs.LockHolder != "bot-7/42" {
		t.Errorf("status --json redis = %+v, want a generation, saved by %s/pid, locked by bot-7/42", rs, host)
	}
	text := f.must(t, "", "status").out
	for _, want := range []string{"generation:  ", "saved:       ", " by " + host + "/", "lock:        held by bot-7/42", "keystore:    redis (" + srv.URL()} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	unlock()
	if text := f.must(t, "", "status").out; !strings.Contains(text, "lock:        free") {
		t.Errorf("status after unlock:\n%s", text)
	}

	f.must(t, "", "logout")
	r := f.run(t, "", "status")
	wantCode(t, r, exitNotLoggedIn)
	if !strings.Contains(r.out, "logged in:   no") {
		t.Errorf("status after logout:\n%s", r.out)
	}
	r = f.must(t, testPassword+"\n", "login", "--password-stdin") // no --username: the last user
	if !strings.Contains(r.out, "as "+testUser) {
		t.Errorf("login after logout did not default to %s:\n%v", testUser, r)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Errorf("%d refresh calls, want 0", n)
	}
}

// TestLoginAfterLogoutKnowsUser: with the file keystore too, logout keeps
// the last user, status still says not logged in, and login defaults to
// that user (issue 12 item 6).
func TestLoginAfterLogoutKnowsUser(t *testing.T) {
	t.Parallel()
	f := setup(t).withUser(t)
	f.login(t)
	f.must(t, "", "logout")
	r := f.run(t, "", "status")
	wantCode(t, r, exitNotLoggedIn)
	if !strings.Contains(r.out, "logged in:   no") {
		t.Errorf("status after logout:\n%s", r.out)
	}
	r = f.must(t, testPassword+"\n", "login", "--password-stdin")
	if !strings.Contains(r.out, "as "+testUser) {
		t.Errorf("login after logout: %v", r)
	}
}

// TestRedisKeystoreErrors: a wrong or missing key file, a missing URL and
// Redis down each give one clear error and one hint.
func TestRedisKeystoreErrors(t *testing.T) {
	t.Parallel()
	f, srv, keyFile := redisFixture(t)
	f.login(t)

	other := filepath.Join(t.TempDir(), "other.key")
	f.must(t, "", "redis keygen", "--out", other)
	f.vars["PMX_REDIS_KEY_FILE"] = other
	r := f.run(t, "", "token")
	wantCode(t, r, exitFailure, "other.key", "give --redis-key-file")
	t.Logf("wrong key: %s", r.err)
	f.vars["PMX_REDIS_KEY_FILE"] = filepath.Join(t.TempDir(), "missing.key")
	wantCode(t, f.run(t, "", "token"), exitFailure, "missing.key", "does not exist", "redis keygen")
	f.vars["PMX_REDIS_KEY_FILE"] = keyFile

	f.vars["PMX_REDIS_URL"] = ""
	wantCode(t, f.run(t, "", "status"), exitUsage, "--keystore redis needs --redis-url (PMX_REDIS_URL)")
	f.vars["PMX_REDIS_URL"] = "http://" + srv.Addr
	wantCode(t, f.run(t, "", "status"), exitUsage, "--redis-url", "redis-sentinel://")
	f.vars["PMX_REDIS_URL"] = srv.URL()

	srv.Kill()
	for _, args := range [][]string{{"token"}, {"status"}, {"refresh"}, {"logout"}, {"login", "--password-stdin"}} {
		cmd := args[0]
		r := f.run(t, testPassword+"\n", args...)
		wantCode(t, r, exitFailure, "redis at "+srv.URL(), "check that Redis is up")
		if strings.Count(r.err, "hint") > 1 {
			t.Errorf("%s: more than one hint:\n%s", cmd, r.err)
		}
	}
}

// TestISVTokenSharedThroughRedis: `isv token --keystore redis` in two runs
// (two processes of one partner) makes one token request: the second run
// takes up the token the first stored, encrypted, in Redis.
func TestISVTokenSharedThroughRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	f := isvSetup(t, traderapitest.AuthOptions{})
	f.vars["PMX_KEYSTORE"] = "redis"
	f.vars["PMX_REDIS_URL"] = srv.URL()
	f.vars["PMX_REDIS_KEY_FILE"] = filepath.Join(t.TempDir(), "redis.key")
	f.must(t, "", "redis keygen")
	first := f.must(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile)
	second := f.must(t, "", "isv", "token", "--client-id", testClientID, "--key", f.keyFile)
	if first.out != second.out || strings.TrimSpace(first.out) == "" {
		t.Fatalf("the second run printed another token")
	}
	if n := len(f.sentAssertions()); n != 1 {
		t.Fatalf("%d token requests for two runs sharing Redis, want 1", n)
	}
}

// TestLoginWithAnotherKeyIsCheckedFirst: with a key file other than the
// one the stored session was encrypted with, login stops at the keystore
// check, before the password is sent: the exchange sees no login (before,
// it logged in and then revoked the new session).
func TestLoginWithAnotherKeyIsCheckedFirst(t *testing.T) {
	t.Parallel()
	f, _, _ := redisFixture(t)
	f.login(t)
	logins := f.srv.Calls(traderapi.PathLogin)
	other := filepath.Join(t.TempDir(), "other.key")
	f.must(t, "", "redis keygen", "--out", other)
	f.vars["PMX_REDIS_KEY_FILE"] = other
	r := f.run(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
	wantCode(t, r, exitFailure)
	t.Logf("login with another key: %s", r.err)
	if n := f.srv.Calls(traderapi.PathLogin) - logins; n != 0 {
		t.Fatalf("login with another key file sent %d login calls, want 0 (checked first)", n)
	}
}

// TestRedisWrongPasswordIsAConfigError: a Redis that refuses the URL's
// password is a setting to fix (exit 2, one hint naming the URL), not an
// outage: `token` does not call it one, and `isv token` does not
// quietly request a token of its own without the shared store.
func TestRedisWrongPasswordIsAConfigError(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "--requirepass", "right-Pass-41")
	f := isvSetup(t, traderapitest.AuthOptions{})
	f.vars["PMX_KEYSTORE"] = "redis"
	f.vars["PMX_REDIS_URL"] = "redis://:wrong-Pass-41@" + srv.Addr + "/0"
	f.vars["PMX_REDIS_KEY_FILE"] = filepath.Join(t.TempDir(), "redis.key")
	f.must(t, "", "redis keygen")
	for _, args := range [][]string{{"token"}, {"isv", "token", "--client-id", testClientID, "--key", f.keyFile}} {
		r := f.run(t, "", args...)
		wantCode(t, r, exitUsage, "WRONGPASS", "Redis refused pmx-login")
		if strings.Contains(r.err, "wrong-Pass-41") || strings.Count(r.err, "hint") > 1 {
			t.Errorf("%s: the password printed, or more than one hint:\n%s", args[0], r.err)
		}
	}
	if n := len(f.sentAssertions()); n != 0 {
		t.Errorf("isv token made %d token requests with Redis refusing its password, want 0", n)
	}
}
