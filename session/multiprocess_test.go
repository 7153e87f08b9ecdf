package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// The environment of the bot process: the exchange to call, the shared
// store's directory, and whether the bot logs in again by itself.
const (
	botEnv        = "PMX_SESSION_TEST_BOT"
	botURLEnv     = "PMX_SESSION_TEST_BOT_URL"
	botHostEnv    = "PMX_SESSION_TEST_BOT_HOST"
	botStoreEnv   = "PMX_SESSION_TEST_BOT_STORE"
	botReloginEnv = "PMX_SESSION_TEST_BOT_RELOGIN"
	botPrefix     = "bot: "
)

// TestHelperBot is the bot process of TestTwoProcessesOneSession, run by it
// as a re-executed test binary; on its own it does nothing. It resumes the
// stored session and sends an order every 10 ms through the authorized
// transport, printing one line per event, until its stdin closes or, its
// session over, three attempts have failed with ErrSessionExpired.
func TestHelperBot(t *testing.T) {
	if os.Getenv(botEnv) != "1" {
		return
	}
	say := func(format string, args ...any) { fmt.Printf(botPrefix+format+"\n", args...) }
	env := traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: os.Getenv(botURLEnv), Host: os.Getenv(botHostEnv)}
	client, err := traderapi.NewClient(env)
	if err != nil {
		t.Fatal(err)
	}
	store, err := file.New(os.Getenv(botStoreEnv))
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.Config{Client: client, Store: store, Username: testUser,
		Retry: session.Retry{Attempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxElapsed: 2 * time.Second}}
	if os.Getenv(botReloginEnv) == "1" {
		cfg.Relogin = func(context.Context, string) (session.Credentials, error) {
			say("relogin")
			return session.Credentials{Username: testUser, Password: testPassword}, nil
		}
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	if err := m.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	say("ready")
	hc := &http.Client{Transport: m.Transport(nil), Timeout: 5 * time.Second}
	ok, expired := 0, 0
	for ctx.Err() == nil && expired < 3 {
		req, err := client.NewRequest(ctx, http.MethodPost, traderapi.PathInsertOrder, strings.NewReader(order))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		switch {
		case errors.Is(err, session.ErrSessionExpired), errors.Is(err, session.ErrNotLoggedIn):
			expired++
			say("expired")
		case ctx.Err() != nil:
		case err != nil:
			say("error %v", err)
		default:
			_, _ = copyAll(io.Discard, resp)
			if resp.StatusCode == http.StatusOK {
				ok++
				say("ok")
			} else {
				say("status %d", resp.StatusCode)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	say("done ok=%d", ok)
}

// bot is a running bot process and the events it printed.
type bot struct {
	*helperproc.LineProc
	seen []string
}

func startBot(t *testing.T, srv *traderapitest.Server, storeDir string, relogin bool) *bot {
	t.Helper()
	cmd := helperproc.Test(t, "TestHelperBot", botEnv+"=1", botURLEnv+"="+srv.URL, botHostEnv+"="+srv.Host(),
		botStoreEnv+"="+storeDir, botReloginEnv+"="+map[bool]string{true: "1", false: "0"}[relogin])
	return &bot{LineProc: helperproc.StartLines(t, cmd, botPrefix)}
}

// wait consumes events until n more of them are ev; any "error" or
// "status" event, or the bot ending first, fails the test.
func (b *bot) wait(t *testing.T, ev string, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for n > 0 {
		select {
		case got, ok := <-b.Lines:
			if !ok {
				t.Fatalf("the bot ended before %d more %q events; it printed:\n%s", n, ev, b.dump())
			}
			b.seen = append(b.seen, got)
			if strings.HasPrefix(got, "error") || strings.HasPrefix(got, "status") {
				t.Fatalf("the bot reported %q", got)
			}
			if got == ev {
				n--
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %d more %q events; the bot printed:\n%s", n, ev, b.dump())
		}
	}
}

// finish closes the bot's stdin (its cue to stop), waits for it to exit
// cleanly and returns the number of orders it reported accepted.
func (b *bot) finish(t *testing.T) int {
	t.Helper()
	_ = b.Stdin.Close()
	for ev := range b.Lines {
		b.seen = append(b.seen, ev)
	}
	if err := b.Cmd.Wait(); err != nil {
		t.Fatalf("the bot exited with %v; it printed:\n%s", err, b.dump())
	}
	if out := b.dump(); strings.Contains(out, "panic") || strings.Contains(out, "DATA RACE") {
		t.Fatalf("the bot panicked or raced:\n%s", out)
	}
	last := b.seen[len(b.seen)-1]
	n, err := strconv.Atoi(strings.TrimPrefix(last, "done ok="))
	if err != nil {
		t.Fatalf("the bot's last event is %q, want its summary", last)
	}
	if ok := b.count("ok"); ok != n {
		t.Fatalf("the bot printed %d ok events but counted %d", ok, n)
	}
	t.Logf("the bot's events: %s", runs(b.seen))
	return n
}

// runs shortens a list of events to "ready, ok×9, expired×3, ...".
func runs(events []string) string {
	var out []string
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j] == events[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s×%d", events[i], j-i))
		} else {
			out = append(out, events[i])
		}
		i = j
	}
	return strings.Join(out, ", ")
}

func (b *bot) count(ev string) int {
	n := 0
	for _, e := range b.seen {
		if e == ev {
			n++
		}
	}
	return n
}

func (b *bot) dump() string { return b.Log.String() }

// TestTwoProcessesOneSession: a CLI (this process) and a bot (another
// process) share a session in a file store. The CLI's refresh leaves the
// bot alone; after the CLI logs out and the exchange revokes the session's
// tokens, the bot gets ErrSessionExpired, cleanly, and never again a
// successful order; or, with a Relogin callback, logs in again and goes on,
// storing the new session for the CLI to resume.
func TestTwoProcessesOneSession(t *testing.T) {
	t.Parallel()
	for _, relogin := range []bool{false, true} {
		t.Run(map[bool]string{false: "expires", true: "relogin"}[relogin], func(t *testing.T) {
			t.Parallel()
			twoProcesses(t, relogin)
		})
	}
}

func twoProcesses(t *testing.T, relogin bool) {
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "store")
	store, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := keystore.Key{Environment: srv.Environment().Name, Username: testUser}
	cli, err := session.New(session.Config{Client: client, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	a1, _ := cli.Token(t.Context())
	rec1, err := store.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}

	b := startBot(t, srv, dir, relogin)
	b.wait(t, "ready", 1)
	b.wait(t, "ok", 3)

	// The CLI refreshes: a new access token for it; the bot keeps its own.
	// (Not in the relogin case: there the bot, on its first 401, would
	// adopt the CLI's newer stored token, which the revoke below also
	// ended, and meet a second 401.)
	a2 := a1
	if !relogin {
		if err := cli.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		a2, _ = cli.Token(t.Context())
		b.wait(t, "ok", 3)
		if a2 == a1 || srv.Calls(traderapi.PathRefresh) != 1 {
			t.Fatalf("the CLI's refresh: new token %v, refresh calls %d", a2 != a1, srv.Calls(traderapi.PathRefresh))
		}
	}
	for _, r := range srv.Requests() {
		if r.Path == traderapi.PathInsertOrder && r.Header.Get("Authorization") != a1.Reveal() {
			t.Fatalf("the bot's orders did not all carry the token it resumed with")
		}
	}

	// The CLI logs out (or, in the relogin case, an administrator revokes
	// the refresh token, leaving the stored session in place): the exchange
	// revokes the refresh token and the CLI's access token. The local
	// exchange leaves the bot's access token alone, so the bot goes on
	// until it expires...
	if relogin {
		srv.RevokeRefreshTokens(testUser)
	} else if err := cli.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "ok", 2)
	// ...unless the exchange ends every token of the user, as an
	// administrator (or an exchange whose logout ends the whole session) does.
	srv.RevokeAccessTokens(testUser)
	ordersBeforeRevoke := srv.Calls(traderapi.PathInsertOrder)

	if relogin {
		b.wait(t, "relogin", 1)
		b.wait(t, "ok", 3)
	} else {
		b.wait(t, "expired", 3)
	}
	ok := b.finish(t)

	// Exactly one order met the revoked token (401); none went out after it.
	// (Plus, at most, the order in flight when finish closed the bot's
	// stdin: it reached the exchange, but the bot cancelled it.)
	if n := srv.Calls(traderapi.PathInsertOrder); n != ok+1 && n != ok+2 {
		t.Errorf("insert_order calls = %d, want the %d accepted + the one that got a 401 (+ one cancelled)", n, ok)
	}
	// One refresh call either way: the CLI's (after a logout the bot finds
	// the stored session gone and ends without a call), or the bot's, which
	// the revoke made the exchange reject.
	if n, want := srv.Calls(traderapi.PathRefresh), 1; n != want {
		t.Errorf("refresh calls = %d, want %d", n, want)
	}
	if relogin {
		checkRelogin(t, b, srv, client, store, key, rec1, a1, a2)
		return
	}
	if ok > ordersBeforeRevoke {
		t.Errorf("the bot reported %d orders accepted, but only %d were sent before the revoke", ok, ordersBeforeRevoke)
	}
	if n := srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login calls = %d, want 1", n)
	}
	wantLoggedOut(t, store, key)
}

// checkRelogin: the bot logged in again once, its new session is in the
// shared store, and a new CLI process resumes it.
func checkRelogin(t *testing.T, b *bot, srv *traderapitest.Server, client *traderapi.Client, store *file.Store,
	key keystore.Key, rec1 *keystore.Record, a1, a2 traderapi.Secret) {
	t.Helper()
	if n, l := b.count("relogin"), srv.Calls(traderapi.PathLogin); n != 1 || l != 2 {
		t.Errorf("relogin events %d, login calls %d; want 1 and 2", n, l)
	}
	last, _ := srv.LastRequest(traderapi.PathInsertOrder)
	a3 := traderapi.Secret(last.Header.Get("Authorization"))
	if a3 == a1 || a3 == a2 || a3 == "" {
		t.Fatalf("the bot's last order did not carry a new token")
	}
	rec, err := store.Get(t.Context(), key)
	if err != nil || rec.RefreshToken == rec1.RefreshToken || rec.AccessToken != a3 {
		t.Fatalf("the bot's new session is not in the shared store (%v)", err)
	}
	cli2, err := session.New(session.Config{Client: client, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli2.Resume(t.Context()); err != nil {
		t.Fatalf("Resume of the bot's session: %v", err)
	}
	if tok, err := cli2.Token(t.Context()); err != nil || tok != a3 {
		t.Fatalf("the CLI did not resume the bot's session (err %v)", err)
	}
}
