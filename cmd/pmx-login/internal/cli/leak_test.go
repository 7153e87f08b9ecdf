package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// wrongPassword is a password the exchange turns down; it is a secret too.
const wrongPassword = "wrong-password-42-x"

// notAudited are the commands the audit does not run, and why.
var notAudited = map[string]string{
	"sandbox": "runs until interrupted; TestEndToEndSubprocess audits what it prints and the trader and ISV commands run against it",
	"agent":   "runs until signalled: TestLeakAuditAgent audits it (every surface, --debug, JSON logs)",
}

// redisAudited are the commands that only work on Redis: the audit runs
// them in its Redis scenario (--debug --json) rather than in the file
// ones.
var redisAudited = map[string]bool{"redis rekey": true}

// Every command runs, in success and in failure (wrong credentials,
// injected 503 HTML pages, truncated and garbled answers, missing
// sessions), with --debug, with --json and with both, as the built binary
// against a local exchange. All of stdout and stderr, and every file left
// under HOME, TMPDIR, XDG_CONFIG_HOME and the working directory after each
// run, are searched for every secret of the run: passwords, the
// registration token, every access and refresh token the exchange issued
// or was sent (whole, payload or signature alone, or any 30 characters),
// TOTP secrets in every written form. The only exceptions: the access
// token on the stdout of `token`, and the file keystore's own entries
// (the session file holds the tokens, the TOTP file the secret after
// --store-secret), the ISV and Redis key files: what the user asked for. With
// --keystore memory no file at all may be written but the --qr-png the
// user asked for.
func TestLeakAudit(t *testing.T) {
	t.Parallel()
	tally := &auditTally{}
	modes := [][]string{{"--debug"}, {"--json"}, {"--debug", "--json"}}
	t.Cleanup(func() { checkCoverage(t, tally, modes) })
	for _, flags := range modes {
		t.Run("file "+strings.Join(flags, " "), func(t *testing.T) {
			t.Parallel()
			s := newLeakScenario(t, tally, "file", flags...)
			known := leakFlowFile(s)
			if slices.Contains(flags, "--debug") {
				trace := s.stderr.String()
				for _, want := range []string{"> POST " + s.ex.URL + traderapi.PathLogin, "[REDACTED]", "< HTTP/1.1 200 OK", "< HTTP/1.1 503"} {
					if !strings.Contains(trace, want) {
						t.Fatalf("--debug traced no %q: the audit would prove nothing", want)
					}
				}
			}
			secrets := s.secrets(known)
			checkSecretsCollected(t, secrets, map[secretKind]int{
				kindPassword: 4, kindRegistration: 2, kindAccess: 5, kindRefresh: 4, kindTOTP: 2,
			})
			checkDetects(t, &s.audit, secrets)
			n := s.audit.check(t, secrets)
			t.Logf("%d runs, %d outputs and file versions, %d bytes searched for %d secrets (%d needles)",
				s.n, len(s.audit.blobs), s.audit.bytes, len(secrets), n)
		})
	}
	t.Run("memory --debug --json", func(t *testing.T) {
		t.Parallel()
		s := newLeakScenario(t, tally, "memory", "--debug", "--json")
		known := leakFlowMemory(s)
		secrets := s.secrets(known)
		checkSecretsCollected(t, secrets, map[secretKind]int{kindPassword: 2, kindAccess: 1, kindRefresh: 1, kindTOTP: 1})
		n := s.audit.check(t, secrets)
		t.Logf("%d runs, %d outputs and file versions, %d bytes searched for %d secrets (%d needles)",
			s.n, len(s.audit.blobs), s.audit.bytes, len(secrets), n)
	})
	t.Run("redis --debug --json", func(t *testing.T) {
		t.Parallel()
		s := newLeakScenario(t, tally, "redis", "--debug", "--json")
		secrets := s.secrets(leakFlowRedis(s))
		checkSecretsCollected(t, secrets, map[secretKind]int{
			kindPassword: 1, kindAccess: 2, kindRefresh: 1, kindRedisPassword: 2, kindRedisKey: 2,
		})
		if !strings.Contains(s.stderr.String(), "[REDACTED]") {
			t.Fatal("--debug traced nothing: the audit would prove nothing")
		}
		n := s.audit.check(t, secrets)
		t.Logf("%d runs, %d outputs, file versions and Redis entries, %d bytes searched for %d secrets (%d needles)",
			s.n, len(s.audit.blobs), s.audit.bytes, len(secrets), n)
	})
}

// leakFlowFile runs every command in success and failure with the file
// keystore, and returns the secrets only the test knows of.
func leakFlowFile(s *leakScenario) map[string]secretKind {
	t := s.t
	pw, newPw := testPassword+"\n", newPassword+"\n"
	u := []string{"--username", testUser}
	stdinPw := []string{"--password-stdin"}
	regTok := s.ex.RegistrationToken(testUser)
	forged := regTok[:len(regTok)-8] + "AAAAAAAA"
	good, bad := s.input("registration.jwt", regTok), s.input("forged.jwt", forged)
	qr := filepath.Join("cwd", "qr.png")
	s.requested[qr] = true

	s.run(leakStep{cmd: "version"})
	s.run(leakStep{cmd: "version", args: []string{"--no-such-flag"}, code: exitUsage})
	s.run(leakStep{cmd: "completion", args: []string{"bash"}})
	s.run(leakStep{cmd: "completion", args: []string{"powershell"}, code: exitUsage})
	s.run(leakStep{cmd: "check-password", args: stdinPw, stdin: pw})
	s.run(leakStep{cmd: "check-password", args: stdinPw, stdin: "short-pw9\n", code: exitRejected})
	s.run(leakStep{cmd: "check-password", args: stdinPw, stdin: pw, code: exitUnreachable, fault: html503(traderapi.PathCheckPassword)})
	s.run(leakStep{cmd: "register", args: []string{"--token-file", bad, "--password-stdin"}, stdin: pw, code: exitRejected})
	s.run(leakStep{cmd: "register", args: []string{"--token-file", good, "--password-stdin"}, stdin: pw, code: exitUnreachable, fault: html503(traderapi.PathRegister)})
	s.run(leakStep{cmd: "register", args: []string{"--token-file", good, "--password-stdin"}, stdin: pw})

	login := append(slices.Clone(u), "--password-stdin")
	s.run(leakStep{cmd: "login", args: login, stdin: wrongPassword + "\n", code: exitRejected})
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitUnreachable, fault: html503(traderapi.PathLogin)})
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitUnreachable,
		fault: &pathFault{traderapi.PathLogin, traderapitest.Fault{TruncatedJSON: true}}})
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitUnreachable,
		fault: &pathFault{traderapi.PathLogin, traderapitest.Fault{GarbledToken: true}}})
	s.run(leakStep{cmd: "login", args: login, stdin: pw})

	nobody := []string{"--username", "nobody"}
	s.run(leakStep{cmd: "status"})
	s.run(leakStep{cmd: "status", args: nobody, code: exitNotLoggedIn})
	s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}})
	s.run(leakStep{cmd: "token", args: nobody, code: exitNotLoggedIn})
	s.run(leakStep{cmd: "refresh"})
	s.run(leakStep{cmd: "refresh", fault: &pathFault{traderapi.PathRefresh, traderapitest.Fault{Status: 503, HTML: true, Times: 1}}})
	s.run(leakStep{cmd: "refresh", code: exitUnreachable, fault: &pathFault{traderapi.PathRefresh, traderapitest.Fault{TruncatedJSON: true}}})
	s.run(leakStep{cmd: "refresh", code: exitUnreachable, fault: &pathFault{traderapi.PathRefresh, traderapitest.Fault{Oversized: true}}})
	s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}})

	s.run(leakStep{cmd: "mfa enroll", args: stdinPw, stdin: wrongPassword + "\n", code: exitRejected})
	s.run(leakStep{cmd: "mfa enroll", args: []string{"--qr-png", filepath.Join(s.work, qr), "--password-stdin"}, stdin: pw})
	s.run(leakStep{cmd: "mfa code", code: exitNotLoggedIn})
	s.storeSecret = true
	s.run(leakStep{cmd: "mfa enroll", args: []string{"--store-secret", "--password-stdin"}, stdin: pw})
	s.run(leakStep{cmd: "mfa code"})
	s.run(leakStep{cmd: "mfa confirm", args: []string{"--otp", s.wrongCode(), "--password-stdin"}, stdin: pw, code: exitRejected})
	s.run(leakStep{cmd: "mfa confirm", args: stdinPw, stdin: pw}) // the code from the stored secret
	s.run(leakStep{cmd: "login", args: append(slices.Clone(login), "--otp", s.wrongCode()), stdin: pw, code: exitRejected})
	// --otp - (the code on stdin after the password), malformed and good.
	s.run(leakStep{cmd: "login", args: append(slices.Clone(login), "--otp", "-"), stdin: pw + "12a456\n", code: exitUsage})
	s.run(leakStep{cmd: "login", args: append(slices.Clone(login), "--otp", "-"), stdin: pw + s.nextCode() + "\n"})
	// OTP commands that fail holding the TOTP secret in their command line
	// and their stderr, and one printing the password instead of a code.
	secret := s.ex.latestTOTP()
	otpCmd := func(c string) []string { return []string{"PMX_OTP_COMMAND=" + c} }
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitRejected,
		env: otpCmd("TOTP_KEY=" + secret + " sh -c 'echo \"oathtool: invalid key $TOTP_KEY\" >&2; exit 1'")})
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitRejected, env: otpCmd("echo " + testPassword)})
	s.run(leakStep{cmd: "login", args: login, stdin: pw, code: exitRejected, env: otpCmd("oathtool --totp -b " + secret + " --no-such-flag")})
	s.run(leakStep{cmd: "login", args: append(slices.Clone(login), "--otp", s.nextCode()), stdin: pw})

	s.run(leakStep{cmd: "change-password", args: stdinPw, stdin: wrongPassword + "\n" + newPw, code: exitRejected})
	s.run(leakStep{cmd: "change-password", args: stdinPw, stdin: pw + newPw})
	s.run(leakStep{cmd: "logout", code: exitUnreachable, fault: html503(traderapi.PathLogout)})
	s.run(leakStep{cmd: "login", args: append(slices.Clone(login), "--otp", s.nextCode()), stdin: newPw})
	tok := strings.TrimSpace(s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}}))
	if slices.Contains(s.flags, "--json") {
		var v struct {
			Token  string    `json:"token"`
			Expiry time.Time `json:"expiry"`
		}
		if err := json.Unmarshal([]byte(tok), &v); err != nil || v.Token == "" || v.Expiry.IsZero() {
			t.Fatalf("token --json printed no token and expiry: %v", err)
		}
		tok = v.Token
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token printed %d parts, want a JWT", len(parts))
	}
	s.run(leakStep{cmd: "decode", stdin: tok})
	s.run(leakStep{cmd: "decode", stdin: parts[0] + "." + parts[1][:len(parts[1])/2], code: exitUsage})
	s.run(leakStep{cmd: "doctor"})
	s.run(leakStep{cmd: "doctor", code: exitFailure, fault: html503(traderapi.PathRefresh)})
	s.run(leakStep{cmd: "logout"})
	s.run(leakStep{cmd: "logout", code: exitNotLoggedIn})
	s.run(leakStep{cmd: "token", code: exitNotLoggedIn})
	s.run(leakStep{cmd: "doctor", code: exitFailure})
	if !s.ex.MFAEnabled(testUser) {
		t.Fatalf("the flow did not turn MFA on: it did not run what it says")
	}
	s.run(leakStep{cmd: "demo"})
	s.run(leakStep{cmd: "demo", args: []string{"--no-such-flag"}, code: exitUsage})
	known := leakFlowISV(s)
	maps.Copy(known, leakFlowRedisKeygen(s))
	maps.Copy(known, map[string]secretKind{
		testPassword: kindPassword, newPassword: kindPassword, wrongPassword: kindPassword, "short-pw9": kindPassword,
		regTok: kindRegistration, forged: kindRegistration,
	})
	return known
}

// leakFlowMemory runs the commands that store or read a session with the
// memory keystore: nothing may be written but the --qr-png file.
func leakFlowMemory(s *leakScenario) map[string]secretKind {
	pw := testPassword + "\n"
	stdinPw := []string{"--password-stdin"}
	regTok := s.ex.RegistrationToken(testUser)
	qr := filepath.Join("cwd", "qr.png")
	s.requested[qr] = true
	u := []string{"--username", testUser}

	s.run(leakStep{cmd: "check-password", args: stdinPw, stdin: pw})
	s.run(leakStep{cmd: "register", args: []string{"--token-file", s.input("registration.jwt", regTok), "--password-stdin"}, stdin: pw})
	s.run(leakStep{cmd: "login", args: append(slices.Clone(u), "--password-stdin"), stdin: pw})
	s.run(leakStep{cmd: "status", args: u, code: exitNotLoggedIn})
	s.run(leakStep{cmd: "token", args: u, code: exitNotLoggedIn})
	s.run(leakStep{cmd: "refresh", args: u, code: exitNotLoggedIn})
	s.run(leakStep{cmd: "mfa enroll", args: append(slices.Clone(u), "--qr-png", filepath.Join(s.work, qr), "--store-secret", "--password-stdin"), stdin: pw})
	s.run(leakStep{cmd: "mfa code", args: u, code: exitNotLoggedIn})
	code, err := totp.GenerateCode(s.ex.latestTOTP(), s.ex.Now())
	if err != nil {
		s.t.Fatalf("no code from the TOTP secret handed out: %v", err)
	}
	s.run(leakStep{cmd: "mfa confirm", args: append(slices.Clone(u), "--otp", code, "--password-stdin"), stdin: pw})
	s.run(leakStep{cmd: "change-password", args: append(slices.Clone(u), "--password-stdin"), stdin: pw + newPassword + "\n"})
	s.run(leakStep{cmd: "logout", args: u, code: exitNotLoggedIn})
	return map[string]secretKind{testPassword: kindPassword, newPassword: kindPassword, regTok: kindRegistration}
}

// nextCode moves the exchange clock to the next time step and returns the
// code it accepts there (each step's code is accepted once).
func (s *leakScenario) nextCode() string {
	s.t.Helper()
	s.ex.Advance(30 * time.Second)
	c, err := s.ex.OTP(testUser)
	if err != nil {
		s.t.Fatalf("OTP: %v", err)
	}
	return c
}

// wrongCode returns a well-formed code that the latest TOTP secret the
// exchange handed out gives in no nearby time step, by either clock.
func (s *leakScenario) wrongCode() string {
	s.t.Helper()
	secret := s.ex.latestTOTP()
	if secret == "" {
		s.t.Fatal("no TOTP secret was handed out yet")
	}
	near := map[string]bool{}
	for _, now := range []time.Time{time.Now(), s.ex.Now()} {
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
			c, err := totp.GenerateCode(secret, now.Add(d))
			if err != nil {
				s.t.Fatal(err)
			}
			near[c] = true
		}
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777", "888888"} {
		if !near[c] {
			return c
		}
	}
	return "999999"
}

// checkSecretsCollected fails unless at least min of each kind were found
// to look for: an audit with nothing to look for proves nothing.
func checkSecretsCollected(t *testing.T, secrets map[string]secretKind, least map[secretKind]int) {
	t.Helper()
	got := map[secretKind]int{}
	for _, k := range secrets {
		got[k]++
	}
	for k, n := range least {
		if got[k] < n {
			t.Errorf("only %d %s(s) collected to look for, want at least %d", got[k], k, n)
		}
	}
	t.Logf("secrets looked for: %v", got)
}

// checkDetects proves the search would see a leak: the session file's
// content, taken as if it were any other file, and the stdout of `token`,
// taken as if it were stderr, are found to hold tokens.
func checkDetects(t *testing.T, a *leakAudit, secrets map[string]secretKind) {
	t.Helper()
	var probe leakAudit
	for _, b := range a.blobs {
		if strings.Contains(b.name, ".session.json") || strings.Contains(b.name, "`pmx-login token") && strings.HasSuffix(b.name, "stdout") {
			probe.add(b.name, b.data)
		}
	}
	found := map[string]bool{}
	for _, l := range probe.find(secrets) {
		found[l.what] = true
	}
	for _, want := range []string{"access token", "refresh token"} {
		if !found[want] {
			t.Errorf("the search does not see a %s in the session file or the stdout of `token`: it would miss leaks", want)
		}
	}
}

// checkCoverage fails unless every command but the few named in
// notAudited ran in success and in failure with every flag set.
func checkCoverage(t *testing.T, tally *auditTally, modes [][]string) {
	t.Helper()
	tally.mu.Lock()
	defer tally.mu.Unlock()
	runs := 0
	for _, c := range commands() {
		if _, ok := notAudited[c.name]; ok {
			continue
		}
		scenarios := modes
		prefix := "file "
		if redisAudited[c.name] {
			scenarios, prefix = [][]string{{"--debug", "--json"}}, "redis "
		}
		for _, m := range scenarios {
			n := tally.runs[prefix+strings.Join(m, " ")][c.name]
			if n[0] == 0 || n[1] == 0 {
				t.Errorf("the leak audit ran %q with %v in %d failures and %d successes: want both", c.name, m, n[0], n[1])
			}
		}
	}
	var b strings.Builder
	for _, flags := range slices.Sorted(maps.Keys(tally.runs)) {
		cmds := tally.runs[flags]
		for _, name := range slices.Sorted(maps.Keys(cmds)) {
			n := cmds[name]
			runs += n[0] + n[1]
			fmt.Fprintf(&b, "%-16s %-16s %d ok, %d failed\n", flags, name, n[1], n[0])
		}
	}
	t.Logf("leak audit: %d runs\n%s", runs, b.String())
}
