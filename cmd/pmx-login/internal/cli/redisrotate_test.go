package cli

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	redisstore "github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/settings"
)

// TestRedisKeyRotationWithTheFleetRunning rotates the Redis key the way
// the README says while three machines keep working, each with a Go bot
// (a started Manager) and a loop of `pmx-login token` and `pmx-login
// refresh` processes; tokens live 3 s, so every phase sees refreshes. The
// steps: the new key as an old key everywhere; the new key as the main
// key and the old one as an old key, machine by machine; `redis rekey`;
// the old key dropped. Not one call fails and every token served is one
// the exchange accepts; afterwards the old key alone reads nothing.
func TestRedisKeyRotationWithTheFleetRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet for 15 s")
	}
	t.Parallel()
	rs := redistest.StartServer(t)
	dir := t.TempDir()
	oldKey, newKey := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	for _, p := range []string{oldKey, newKey} {
		if _, err := redisstore.WriteKeyFile(p); err != nil {
			t.Fatal(err)
		}
	}
	r := newAgentRig(t, 3*time.Second, settings.Settings{Keystore: "redis", RedisURL: rs.URL(), RedisKeyFile: oldKey},
		"PMX_REDIS_URL="+rs.URL(), "PMX_USERNAME="+testUser)
	r.login(t)
	// A second user's session that nobody refreshes during the rotation:
	// only rekey moves it to the new key.
	const idleUser = "trader2"
	if err := r.ex.AddUser(idleUser, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := r.pmxIn(t, testPassword+"\n", "login", "--username", idleUser, "--password-stdin", "--redis-key-file", oldKey); err != nil {
		t.Fatalf("login %s: %v %s", idleUser, err, errOut)
	}

	var calls, failed atomic.Int64
	fail := func(format string, args ...any) {
		failed.Add(1)
		t.Errorf(format, args...)
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	machines := make([]*rotatingMachine, 3)
	for i := range machines {
		m := &rotatingMachine{r: r, name: fmt.Sprintf("m%d", i), bin: pmxBinary(t)}
		m.roll(t, oldKey)
		machines[i] = m
		wg.Go(func() { m.cliLoop(ctx, &calls, fail) })
		wg.Go(func() { m.botLoop(ctx, &calls, fail) })
	}
	rollAll := func(main string, old ...string) {
		for _, m := range machines {
			time.Sleep(time.Second)
			m.roll(t, main, old...)
		}
	}
	time.Sleep(time.Second)
	rollAll(oldKey, newKey) // 1: everyone can read the new key
	rollAll(newKey, oldKey) // 2: everyone writes with it
	out, errOut, err := r.pmx(t, "redis", "rekey", "--redis-key-file", newKey, "--redis-old-key-file", oldKey)
	if err != nil || strings.TrimSpace(stripWarning(errOut)) != "" || !strings.Contains(out, "Re-encrypted") || strings.Contains(out, "Re-encrypted 0 ") {
		t.Fatalf("redis rekey: %v\n%s%s", err, out, errOut)
	}
	t.Logf("redis rekey: %s", strings.TrimSpace(out))
	rollAll(newKey) // 4: the old key goes
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	for _, m := range machines {
		m.close()
	}
	t.Logf("%d calls during the rotation, %d failed", calls.Load(), failed.Load())
	if calls.Load() < 50 {
		t.Errorf("only %d calls: the fleet did not run", calls.Load())
	}

	if _, errOut, err := r.pmx(t, "token", "--no-agent", "--redis-key-file", oldKey); err == nil || !strings.Contains(errOut, "was encrypted with key") {
		t.Errorf("token with only the old key after the rotation: %v %s; want the record refused", err, errOut)
	}
	if _, errOut, err := r.pmx(t, "token", "--no-agent", "--username", idleUser, "--redis-key-file", newKey); err != nil {
		t.Errorf("%s's session with only the new key after the rotation: %v %s", idleUser, err, errOut)
	}
	out, _, err = r.pmx(t, "redis", "rekey", "--json", "--redis-key-file", newKey)
	if err != nil || !strings.Contains(strings.Join(strings.Fields(out), ""), `"rekeyed":0`) {
		t.Errorf("a second rekey: %v %s; want nothing left to re-encrypt", err, out)
	}
}

// rotatingMachine is one machine of the rotation test: the key files it
// has now, and its bot.
type rotatingMachine struct {
	r    *agentRig
	name string
	bin  string // pmx-login

	mu  sync.Mutex
	env []string
	bot *session.Manager
}

// roll restarts the machine with key files main and old: its CLI runs
// use them from now on and a new bot replaces the old one, as a rolling
// deploy does.
func (m *rotatingMachine) roll(t *testing.T, main string, old ...string) {
	t.Helper()
	st := m.r.settings
	st.Username, st.RedisKeyFile, st.RedisOldKeyFiles = testUser, main, old
	cfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	bot, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.Resume(t.Context()); err != nil {
		t.Fatalf("%s: a new bot with %s (old %v): %v", m.name, main, old, err)
	}
	if err := bot.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	env := append(append([]string(nil), m.r.env...), "PMX_REDIS_KEY_FILE="+main, "PMX_REDIS_OLD_KEY_FILES="+strings.Join(old, string(filepath.ListSeparator)))
	m.mu.Lock()
	prev := m.bot
	m.env, m.bot = env, bot
	m.mu.Unlock()
	if prev != nil {
		_ = prev.Close()
	}
}

func (m *rotatingMachine) now() ([]string, *session.Manager) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.env, m.bot
}

func (m *rotatingMachine) close() {
	_, bot := m.now()
	_ = bot.Close()
}

// cliLoop runs `pmx-login token` processes, and every fourth time
// `pmx-login refresh`, which writes the record with the machine's main key.
func (m *rotatingMachine) cliLoop(ctx context.Context, calls *atomic.Int64, fail func(string, ...any)) {
	for n := 0; ctx.Err() == nil; n++ {
		env, _ := m.now()
		args := []string{"token", "--no-agent"}
		if n%4 == 3 {
			args = []string{"refresh"}
		}
		cmd := exec.Command(m.bin, args...)
		cmd.Env = env
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		calls.Add(1)
		if err != nil || strings.TrimSpace(stripWarning(errb.String())) != "" {
			fail("%s: pmx-login %s: %v\n%s", m.name, strings.Join(args, " "), err, errb.String())
			continue
		}
		if args[0] == "token" {
			if user, err := m.r.ex.Authenticate(strings.TrimSpace(string(out))); err != nil || user != testUser {
				fail("%s: the exchange refused the token pmx-login token printed: %v", m.name, err)
			}
		}
	}
}

// botLoop asks the machine's current bot for a token every 50 ms and
// checks it with the exchange.
func (m *rotatingMachine) botLoop(ctx context.Context, calls *atomic.Int64, fail func(string, ...any)) {
	for ; ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		_, bot := m.now()
		tok, err := bot.Token(ctx)
		if ctx.Err() != nil {
			return
		}
		calls.Add(1)
		if err != nil {
			if _, again := m.now(); again != bot {
				calls.Add(-1) // closed by a roll between now() and Token: not a call the fleet made
				continue
			}
			fail("%s: bot Token: %v", m.name, err)
			continue
		}
		if user, err := m.r.ex.Authenticate(tok.Reveal()); err != nil || user != testUser {
			fail("%s: the exchange refused the bot's token: %v", m.name, err)
		}
	}
}
