package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const (
	testUser     = "trader1"
	testPassword = "correct-horse-42-battery"
	newPassword  = "staple-9-battery-horse-77"
)

// fixture is a local exchange and the environment a pmx-login run sees:
// the exchange's base URL and Host, the file keystore in a temporary
// XDG_CONFIG_HOME.
type fixture struct {
	srv  *traderapitest.Server
	vars map[string]string
	dir  string
	// now is the clock the runs see; default time.Now.
	now func() time.Time
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	return &fixture{srv: srv, dir: dir, vars: map[string]string{
		"PMX_BASE_URL":    srv.URL,
		"PMX_HOST":        srv.Host(),
		"PMX_ENV":         "preprod",
		"PMX_KEYSTORE":    "file",
		"XDG_CONFIG_HOME": dir,
	}}
}

// withUser adds testUser with testPassword to the exchange.
func (f *fixture) withUser(t *testing.T) *fixture {
	t.Helper()
	if err := f.srv.AddUser(testUser, testPassword); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	return f
}

// result is what one run printed and returned.
type result struct {
	code     int
	out, err string
}

func (r result) String() string {
	return "exit " + string(rune('0'+r.code)) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err
}

// run runs pmx-login args with stdin as its (non-terminal) standard input.
func (f *fixture) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return f.runStreams(t, IOStreams{In: strings.NewReader(stdin)}, args...)
}

// runTTY runs args as if on a terminal that answers the prompts with
// answers, in order.
func (f *fixture) runTTY(t *testing.T, answers []string, args ...string) (result, []string) {
	t.Helper()
	var prompts []string
	var mu sync.Mutex
	s := IOStreams{In: strings.NewReader(""), InTTY: true, OutTTY: true, ReadSecret: func(_ context.Context, p string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		prompts = append(prompts, p)
		if len(answers) == 0 {
			t.Errorf("unexpected prompt %q", p)
			return "", context.Canceled
		}
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}}
	r := f.runStreams(t, s, args...)
	return r, prompts
}

func (f *fixture) runStreams(t *testing.T, s IOStreams, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	s.Out, s.Err = &out, &errb
	s.Getenv = func(k string) string { return f.vars[k] }
	s.Now = f.now
	if f.now != nil && s.Sleep == nil {
		// The runs read the exchange's clock: waiting moves it on.
		s.Sleep = func(_ context.Context, d time.Duration) error {
			f.srv.Advance(d)
			return nil
		}
	}
	code := Main(t.Context(), args, s)
	return result{code: code, out: out.String(), err: errb.String()}
}

// must runs args and fails the test unless it exits 0.
func (f *fixture) must(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := f.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("pmx-login %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// login logs testUser in through the CLI.
func (f *fixture) login(t *testing.T) {
	t.Helper()
	f.must(t, testPassword+"\n", "login", "--username", testUser, "--password-stdin")
}

// record reads testUser's stored item from the file keystore.
func (f *fixture) record(t *testing.T, item keystore.Item) (*keystore.Record, error) {
	t.Helper()
	st, err := file.New(filepath.Join(f.dir, "pmx-login"))
	if err != nil {
		t.Fatalf("file.New: %v", err)
	}
	return st.Get(context.Background(), keystore.Key{Environment: "preprod", Username: testUser, Item: item})
}

// wantCode fails unless r exited with code and its stderr holds every one
// of wantErr.
func wantCode(t *testing.T, r result, code int, wantErr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%v", r.code, code, r)
	}
	for _, w := range wantErr {
		if !strings.Contains(r.err, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, r.err)
		}
	}
	if code != 0 && strings.Count(strings.TrimSpace(r.err), "\n") > 0 && !strings.Contains(r.err, "Usage:") {
		t.Errorf("error output is more than one line:\n%s", r.err)
	}
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// authenticated checks that tok is an access token the exchange accepts for
// testUser.
func (f *fixture) authenticated(t *testing.T, tok string) {
	t.Helper()
	user, err := f.srv.Authenticate(tok)
	if err != nil || user != testUser {
		t.Fatalf("the exchange does not accept the printed token: user %q, %v", user, err)
	}
}

// totpSecret is the base32 secret of an enrollment URL (what
// traderapitest's EnableMFA returns), for computing codes.
func totpSecret(t *testing.T, url traderapi.Secret) string {
	t.Helper()
	e, err := mfa.ParseURL(url.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	return e.Secret.Reveal()
}
