package session_test

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Environment of a token process (TestHelperTokenProcess).
const (
	tokenProcEnv    = "PMX_TEST_TOKEN_PROCESS"
	tokenStoreEnv   = "PMX_TEST_TOKEN_STORE" // "file:DIR" or "keyring:PREFIX"
	tokenProcPrefix = "TOKENPROC "
)

// TestHelperTokenProcess is what `pmx-login token` does, run as a child
// process: resume the stored session, get a fresh token, print it, exit.
func TestHelperTokenProcess(t *testing.T) {
	if os.Getenv(tokenProcEnv) != "1" {
		return
	}
	env := traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: os.Getenv(botURLEnv), Host: os.Getenv(botHostEnv)}
	client, err := traderapi.NewClient(env)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client, Store: openTestStore(t, os.Getenv(tokenStoreEnv))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, err := m.FreshToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%d\n", tokenProcPrefix, len(info.Token))
}

// openTestStore opens "file:DIR" or "keyring:PREFIX".
func openTestStore(t testing.TB, spec string) session.Store {
	kind, arg, _ := strings.Cut(spec, ":")
	if kind == "keyring" {
		return keyring.New(keyring.WithServicePrefix(arg), keyring.WithLockDir(filepath.Join(os.TempDir(), arg)))
	}
	s, err := file.New(arg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConcurrentTokenProcessesRefreshOncePerPeriod: rounds of N processes
// running `token` at once on one stored session with 6 s access tokens,
// over several lifetimes, make one refresh per refresh period in all (a 6 s
// token goes stale after 3 s: the margin is capped at half the lifetime),
// where the base made one per process run (216 of 216). Figures are
// logged.
func TestConcurrentTokenProcessesRefreshOncePerPeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 3 token lifetimes (18 s)")
	}
	t.Parallel()
	stores := map[string]string{"file": "file:" + filepath.Join(t.TempDir(), "store")}
	if os.Getenv("PMX_KEYRING_TESTS") == "required" {
		stores["keyring"] = fmt.Sprintf("keyring:pmx-test-%d", time.Now().UnixNano())
	}
	for name, spec := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runs, refreshes := tokenRounds(t, spec, 6, 3*6*time.Second)
			periods := 18 / 3
			t.Logf("%s store: %d token runs (6 processes at a time) over 3 lifetimes of 6 s made %d refresh calls (%d refresh periods of 3 s)", name, runs, refreshes, periods)
			if refreshes > periods+1 || refreshes < periods-2 {
				t.Fatalf("%d refresh calls in %d refresh periods, want about one per period", refreshes, periods)
			}
		})
	}
}

// tokenRounds logs in, then runs rounds of n concurrent token processes
// until d has passed; it returns the runs and the refresh calls.
func tokenRounds(t *testing.T, spec string, n int, d time.Duration) (runs, refreshes int) {
	srv := traderapitest.NewServer(traderapitest.Options{AccessTTL: 6 * time.Second})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	client, _ := traderapi.NewClient(srv.Environment())
	m, err := session.New(session.Config{Client: client, Store: openTestStore(t, spec)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	t.Cleanup(func() { _ = m.Logout(context.Background()) })
	start := time.Now()
	for end := start.Add(d); time.Now().Before(end); runs += n {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { runTokenProcess(t, srv, spec) })
		}
		wg.Wait()
	}
	var at []string
	for _, r := range srv.Requests() {
		if r.Path == traderapi.PathRefresh || r.Path == traderapi.PathLogin {
			at = append(at, fmt.Sprintf("%s %.1fs", path.Base(r.Path), r.At.Sub(start).Seconds()))
		}
	}
	t.Logf("calls: %s", strings.Join(at, ", "))
	return runs, srv.Calls(traderapi.PathRefresh)
}

func runTokenProcess(t *testing.T, srv *traderapitest.Server, spec string) {
	cmd := helperproc.Test(t, "TestHelperTokenProcess", tokenProcEnv+"=1", botURLEnv+"="+srv.URL, botHostEnv+"="+srv.Host(), tokenStoreEnv+"="+spec)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), tokenProcPrefix) {
		t.Errorf("token process: %v\n%s", err, out)
	}
}
