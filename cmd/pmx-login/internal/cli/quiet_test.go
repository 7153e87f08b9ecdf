//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	redisstore "github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// quietRig runs the built binary against a local exchange named as
// preprod (so that no custom-environment warning is printed) with the
// keystore its variables say.
type quietRig struct {
	bin string
	env []string
}

func newQuietRig(t *testing.T, keystoreVars ...string) *quietRig {
	t.Helper()
	ex := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(ex.Close)
	if err := ex.AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(),
		"PMX_ENV=preprod", "PMX_BASE_URL=" + ex.URL, "PMX_HOST=" + ex.Host(), "PMX_USERNAME=" + testUser}, keystoreVars...)
	return &quietRig{bin: pmxBinary(t), env: env}
}

// run runs the binary with stdin, within limit; it returns stdout,
// stderr and the exit code (-1: killed at the limit).
func (q *quietRig) run(t *testing.T, limit time.Duration, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, q.bin, args...)
	cmd.Env, cmd.Stdin = q.env, strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case ctx.Err() != nil:
		return out.String(), errb.String(), -1
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatal(err)
	return "", "", 0
}

// TestSuccessfulCommandsPrintNothingOnStderr: every session command, on
// the file keystore and on Redis through a Sentinel (whose client logs
// two lines per connection unless pmx-login quiets it), succeeds with
// nothing at all on stderr (with --debug, go-redis's lines are part of
// the debug log); a failed one prints one line.
func TestSuccessfulCommandsPrintNothingOnStderr(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redisstore.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	stores := map[string][]string{
		"file":           {"PMX_KEYSTORE=file"},
		"redis-sentinel": {"PMX_KEYSTORE=redis", "PMX_REDIS_URL=" + redistest.StartSentinel(t).URL(), "PMX_REDIS_KEY_FILE=" + keyFile},
	}
	for name, vars := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := newQuietRig(t, vars...)
			steps := [][]string{{"login", "--password-stdin"}, {"status"}, {"token", "--no-agent"}, {"refresh"},
				{"status", "--json"}, {"token", "--no-agent", "--json"}, {"doctor"}, {"logout"}}
			if name != "file" {
				steps = append(steps[:len(steps)-1], []string{"redis", "rekey"}, []string{"logout"})
			}
			for _, args := range steps {
				_, errOut, code := q.run(t, time.Minute, testPassword+"\n", args...)
				if code != 0 || errOut != "" {
					t.Errorf("pmx-login %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errOut)
				}
			}
			if name != "file" { // with --debug, go-redis's lines are debug lines
				q.run(t, time.Minute, testPassword+"\n", "login", "--password-stdin")
				_, errOut, code := q.run(t, time.Minute, "", "status", "--debug")
				if code != 0 || !strings.Contains(errOut, "component=go-redis") || !strings.Contains(errOut, "sentinel") {
					t.Errorf("status --debug on a Sentinel: exit %d, want go-redis's lines in the log:\n%s", code, errOut)
				}
				q.run(t, time.Minute, "", "logout")
			}
			_, errOut, code := q.run(t, time.Minute, "", "token", "--no-agent")
			if code != exitNotLoggedIn || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("token after logout: exit %d, stderr:\n%s\nwant exit %d and one line", code, errOut, exitNotLoggedIn)
			}
		})
	}
}

// TestKeyFileAndFrozenRedisNeverHang: a FIFO at the key file's path (an
// open would block forever) ends the command at once, exit 1, naming the
// file; a command waiting on a frozen Redis with a long --timeout ends
// on SIGTERM, at once.
func TestKeyFileAndFrozenRedisNeverHang(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	fifo := filepath.Join(t.TempDir(), "redis.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	q := newQuietRig(t, "PMX_KEYSTORE=redis", "PMX_REDIS_URL="+rs.URL(), "PMX_REDIS_KEY_FILE="+fifo)
	_, errOut, code := q.run(t, 20*time.Second, "", "token", "--no-agent", "--timeout", "10s")
	if code != exitFailure || !strings.Contains(errOut, "not a regular file") {
		t.Fatalf("a FIFO key file: exit %d (-1: still waiting after 20 s), stderr:\n%s", code, errOut)
	}

	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redisstore.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	q = newQuietRig(t, "PMX_KEYSTORE=redis", "PMX_REDIS_URL="+rs.URL(), "PMX_REDIS_KEY_FILE="+keyFile)
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	defer rs.Continue()
	cmd := exec.Command(q.bin, "token", "--no-agent", "--timeout", "5m")
	cmd.Env = q.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // let it reach Redis; the command ends on the signal whenever it comes
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err == nil || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Fatalf("after SIGTERM: %v, stderr:\n%s; want a failure in one line", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("pmx-login token on a frozen Redis did not end within 20 s of SIGTERM")
	}
}
