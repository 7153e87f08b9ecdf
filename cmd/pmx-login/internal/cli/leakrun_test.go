package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// leakScenario runs the built binary, with one set of global flags and one
// keystore, against its own recorded exchange, and keeps everything the
// runs printed and every file they left under its work directory (HOME,
// TMPDIR, XDG_CONFIG_HOME and the working directory are all in it).
type leakScenario struct {
	t        *testing.T
	bin      string
	ex       *recordedExchange
	flags    []string
	keystore string
	work     string
	env      []string
	audit    leakAudit
	tally    *auditTally
	// storeSecret is set once `mfa enroll --store-secret` has run: from
	// then on the file keystore's TOTP entry may hold the TOTP secret.
	storeSecret bool
	// requested are the files (relative to work) the user asked for, such
	// as a --qr-png file: the only files a memory keystore run may leave.
	requested map[string]bool
	stderr    bytes.Buffer
	n         int
	// auth records the ISV token service, once started.
	auth *recorder
	// keyFile is the ISV private key file (relative to work), which may
	// hold the private key.
	keyFile string
	// redisKeyFile is the Redis key file (relative to work), which may
	// hold the Redis key.
	redisKeyFile string
	// sinkFile is the agent's --sink (relative to work), which may hold
	// the access token.
	sinkFile string
}

// leakStep is one run: the command's name, its arguments, stdin, the exit
// code it must have, an optional fault armed on the exchange for it, and
// the kinds of secret its stdout may hold by design.
type leakStep struct {
	cmd      string
	args     []string
	stdin    string
	code     int
	fault    *pathFault
	allowOut []secretKind
	// env is added to the run's environment.
	env []string
}

// pathFault is a fault armed on one endpoint for one step.
type pathFault struct {
	path string
	f    traderapitest.Fault
}

func html503(path string) *pathFault {
	return &pathFault{path, traderapitest.Fault{Status: 503, HTML: true}}
}

func newLeakScenario(t *testing.T, tally *auditTally, keystore string, flags ...string) *leakScenario {
	t.Helper()
	s := &leakScenario{
		t: t, bin: pmxBinary(t), ex: newRecordedExchange(t), flags: flags, keystore: keystore,
		work: t.TempDir(), tally: tally, requested: map[string]bool{},
	}
	for _, d := range []string{"home", "tmp", "cwd", "config"} {
		if err := os.Mkdir(filepath.Join(s.work, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(s.work, "home"),
		"TMPDIR=" + filepath.Join(s.work, "tmp"),
		"XDG_CONFIG_HOME=" + filepath.Join(s.work, "config"),
		"PMX_BASE_URL=" + s.ex.URL,
		"PMX_HOST=" + s.ex.Host(),
		"PMX_ENV=preprod",
		"PMX_KEYSTORE=" + keystore,
	}
	return s
}

// input writes a file the test gives a command (a registration token
// file) outside the audited directory, and returns its path.
func (s *leakScenario) input(name, content string) string {
	s.t.Helper()
	return writeFile(s.t, name, content+"\n")
}

// run runs one step, checks its exit code, and keeps its output and the
// files present afterwards for the audit. It returns stdout.
func (s *leakScenario) run(st leakStep) string {
	t := s.t
	t.Helper()
	if st.fault != nil {
		s.ex.InjectFault(st.fault.path, st.fault.f)
		defer s.ex.ClearFaults()
	}
	s.n++
	args := append(strings.Fields(st.cmd), st.args...)
	args = append(args, s.flags...)
	line := "pmx-login " + strings.Join(args, " ")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Dir = filepath.Join(s.work, "cwd")
	cmd.Env = append(slices.Clone(s.env), st.env...)
	cmd.Stdin = strings.NewReader(st.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != st.code {
		// Redacted: a failing test must not print the secrets it guards.
		t.Fatalf("#%d %s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", s.n, line, code, err, st.code,
			traderapi.RedactText(stdout.String()), traderapi.RedactText(stderr.String()))
	}
	s.audit.add(fmt.Sprintf("#%d `%s` stdout", s.n, line), stdout.Bytes(), st.allowOut...)
	s.audit.add(fmt.Sprintf("#%d `%s` stderr", s.n, line), stderr.Bytes())
	s.stderr.Write(stderr.Bytes())
	if slices.Contains(s.flags, "--json") && code == 0 && st.cmd != "demo" && !json.Valid(stdout.Bytes()) {
		t.Errorf("#%d %s: --json printed no JSON:\n%s", s.n, line, traderapi.RedactText(stdout.String()))
	}
	s.snapshot(fmt.Sprintf("after #%d", s.n))
	s.tally.count(s.keystore+" "+strings.Join(s.flags, " "), st.cmd, code == 0)
	return stdout.String()
}

// snapshot keeps every file under the work directory, with what it may
// hold: only the file keystore's own entries may hold tokens (the session)
// or, after --store-secret, the TOTP secret. A memory keystore run may
// leave no file but those the user asked for.
func (s *leakScenario) snapshot(when string) {
	t := s.t
	t.Helper()
	err := filepath.WalkDir(s.work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.work, p)
		if s.keystore == "memory" && !s.requested[rel] {
			t.Errorf("%s: with --keystore memory, %s was written", when, rel)
		}
		s.audit.add(rel+" ("+when+")", b, s.fileMayHold(rel)...)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", s.work, err)
	}
}

// fileMayHold returns what a file may hold: exactly the file keystore's
// entries of the test user, which are the plain-text fallback the user
// chose; nothing for any other file.
func (s *leakScenario) fileMayHold(rel string) []secretKind {
	if rel == s.keyFile {
		return []secretKind{kindPrivateKey}
	}
	if rel == s.redisKeyFile {
		return []secretKind{kindRedisKey}
	}
	if rel == s.sinkFile {
		return []secretKind{kindAccess} // the agent's --sink: the token, as asked
	}
	if s.keystore != "file" {
		return nil
	}
	dir := filepath.Join("config", "pmx-login", "preprod")
	switch rel {
	case filepath.Join(dir, testUser+".session.json"):
		return []secretKind{kindAccess, kindRefresh}
	case filepath.Join(dir, testUser+".totp.json"):
		if s.storeSecret {
			return []secretKind{kindTOTP}
		}
	}
	return nil
}

// secrets returns every secret of the scenario: what clients sent the
// exchange, what it issued, and the inputs the test knows of.
func (s *leakScenario) secrets(known map[string]secretKind) map[string]secretKind {
	t := s.t
	t.Helper()
	out := map[string]secretKind{}
	issued := map[string]secretKind{}
	for _, r := range s.recorders() {
		maps.Copy(out, r.sent())
		maps.Copy(issued, r.issued())
	}
	for v, k := range issued {
		if k == kindTOTP {
			for _, form := range totpForms(t, v) {
				out[form] = k
			}
			continue
		}
		out[v] = k
	}
	for v, k := range known {
		out[v] = k
	}
	return out
}

// auditTally counts the audited runs per flag set, command and outcome.
type auditTally struct {
	mu   sync.Mutex
	runs map[string]map[string][2]int // flags → command → [failures, successes]
}

func (a *auditTally) count(flags, cmd string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runs == nil {
		a.runs = map[string]map[string][2]int{}
	}
	if a.runs[flags] == nil {
		a.runs[flags] = map[string][2]int{}
	}
	c := a.runs[flags][cmd]
	if ok {
		c[1]++
	} else {
		c[0]++
	}
	a.runs[flags][cmd] = c
}
