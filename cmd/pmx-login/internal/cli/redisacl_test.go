package cli

import (
	goredis "github.com/redis/go-redis/v9"

	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	redisstore "github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
)

// TestRedisMinimalACL: a Redis user with exactly redis.ACL, on database 3.
// Every CLI command on the session (login, status, token, refresh,
// logout, login again), a Go bot that watches the record (Start) and
// follows a refresh and a logout by the CLI, an agent and redis rekey, all work; the
// ACL LOG stays empty; FLUSHALL, FLUSHDB, SWAPDB, SCAN, KEYS, SCRIPT
// FLUSH, FUNCTION FLUSH and a read of another application's key are
// refused.
func TestRedisMinimalACL(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	admin := rs.Client(t)
	ctx := t.Context()
	const pw = "acl-test-password-42"
	if err := admin.Do(ctx, append([]any{"ACL", "SETUSER", "pmx", "on", ">" + pw}, toAny(strings.Fields(redisstore.ACL))...)...).Err(); err != nil {
		t.Fatalf("ACL SETUSER with redis.ACL: %v", err)
	}
	_ = admin.Set(ctx, "other-app:secret", "x", 0).Err()
	u := &url.URL{Scheme: "redis", User: url.UserPassword("pmx", pw), Host: rs.Addr, Path: "/3"}
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redisstore.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	r := newAgentRig(t, 3*time.Second, settings.Settings{Keystore: "redis", RedisURL: u.String(), RedisKeyFile: keyFile},
		"PMX_REDIS_URL="+u.String(), "PMX_REDIS_KEY_FILE="+keyFile, "PMX_USERNAME="+testUser)
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := append(args, "--no-agent")
		if args[0] == "login" || args[0] == "logout" || args[0] == "refresh" || args[0] == "redis" {
			cmd = args
		}
		if _, errOut, err := r.pmxIn(t, stdin, cmd...); err != nil {
			t.Fatalf("pmx-login %s: %v\n%s", strings.Join(cmd, " "), err, errOut)
		}
	}
	run(testPassword+"\n", "login", "--password-stdin")

	cfg, err := r.settings.Config()
	if err != nil {
		t.Fatal(err)
	}
	bot, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := bot.Start(bctx); err != nil {
		t.Fatal(err)
	}
	r.start(t, true) // the agent watches too
	run("", "status")
	run("", "token")
	run("", "refresh")
	waitToken(t, bot, func(err error) bool { return err == nil })
	run("", "logout")
	waitToken(t, bot, func(err error) bool { return err != nil })
	run(testPassword+"\n", "login", "--password-stdin")
	waitToken(t, bot, func(err error) bool { return err == nil })
	run("", "token")
	run("", "redis", "rekey")
	r.stop(t)

	if log, err := admin.Do(ctx, "ACL", "LOG").Slice(); err != nil || len(log) != 0 {
		t.Fatalf("ACL LOG after every operation: %v %v", log, err)
	}
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	pmx := goredis.NewClient(opts)
	defer pmx.Close()
	for _, c := range [][]any{{"FLUSHALL"}, {"FLUSHDB"}, {"SWAPDB", "0", "3"}, {"SCAN", "0"}, {"KEYS", "*"},
		{"SCRIPT", "FLUSH"}, {"FUNCTION", "FLUSH"}, {"GET", "other-app:secret"}, {"CONFIG", "GET", "*"}} {
		if err := pmx.Do(ctx, c...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("%v under redis.ACL: %v, want NOPERM", c, err)
		}
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// waitToken waits until the manager's Token error satisfies ok.
func waitToken(t *testing.T, m *session.Manager, ok func(error) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := m.Token(ctx)
		cancel()
		if ok(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not follow: Token = %v", err)
		}
	}
}

// TestREADMEGivesTheACL: the README's ACL SETUSER line is redis.ACL.
func TestREADMEGivesTheACL(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "ACL SETUSER pmx-login on >PASSWORD " + redisstore.ACL + "\n"; !strings.Contains(string(b), want) {
		t.Fatalf("the README does not give redis.ACL: want the line\n%s", want)
	}
}
