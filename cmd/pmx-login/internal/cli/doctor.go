package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session/doctor"
	"github.com/pmx-login/pmx-login/traderapi"
)

// checksFailed is doctor's error when a check fails: exit 1, and a line
// naming the failed checks.
type checksFailed struct {
	failed []string
	total  int
}

func (e *checksFailed) Error() string {
	return fmt.Sprintf("%d of %d checks failed: %s", len(e.failed), e.total, strings.Join(e.failed, ", "))
}

type doctorOptions struct {
	*app
	isv           doctor.ISVConfig
	assertionFile string
}

func doctorCommand() command {
	return command{
		name:    "doctor",
		args:    "[--client-id ID --key FILE [--public-key FILE] [--participant-id ID] [--endpoint \"METHOD /path\"]...]",
		summary: "Diagnose a 401 or 403: reachability, clock, session, token, refresh, ISV credentials",
		long: `Runs the troubleshooting guides' checks for the selected environment and user, and
prints one line per check: ok, WARN, FAIL (with the fix after →) or skip.

  reachability    DNS, TCP, TLS and HTTP to --base-url with the --host override
  clock skew      the exchange's Date header against the local clock (warn > 30s, fail > 300s)
  stored session  a session in the keystore, and its refresh token's expiry
  access token    the cached token decoded: expired, expiring, another environment's, scopes
  trial refresh   one refresh with the stored refresh token (nothing stored is changed)

With --client-id and --key it also checks ISV Private Key JWT credentials: the key
file's format, the private key against --public-key, the client assertion against
every rule of the exchange's guide (or your own with --assertion-file), a real token
request, the scopes each --endpoint needs, and x-participant-id for account-scoped
endpoints.

Exits 0 when no check fails (warnings and skips allowed), 1 when any check fails,
2 on a usage error. --json prints the report: {"ok", "status", "checks": [{"name",
"status", "saw", "fix"}]}.`,
		example: `pmx-login doctor
pmx-login doctor --env prod --username trader1 --json
pmx-login doctor --client-id "$(cat clientid.txt)" --key acme_preprod_private_key.pem \
  --public-key acme_preprod_public_key.pem --participant-id firms/ISV-Participant-Acme/users/bot \
  --endpoint "GET /v1/positions" --endpoint "POST /v1/trading/orders"`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &doctorOptions{app: a}
			fs.StringVar(&o.isv.ClientID, "client-id", "", "ISV client `ID` from onboarding (clientid.txt)")
			fs.StringVar(&o.isv.KeyFile, "key", "", "ISV PEM private key `FILE`")
			fs.StringVar(&o.isv.PublicKeyFile, "public-key", "", "the public key `FILE` registered at onboarding, to compare with --key")
			fs.StringVar(&o.isv.ParticipantID, "participant-id", "", "x-participant-id the bot sends: firms/<Firm>/users/<user>")
			fs.StringArrayVar(&o.isv.Endpoints, "endpoint", nil, "an endpoint the bot calls, \"METHOD /path\" (repeatable), to check scopes for")
			fs.StringVar(&o.isv.AuthURL, "auth-url", "", "ISV auth server `URL`; default the environment's Auth0 domain")
			fs.StringVar(&o.isv.Audience, "audience", "", "ISV API audience `URL`; default the environment's")
			fs.StringVar(&o.assertionFile, "assertion-file", "", "a client assertion made by your own code, to lint (`FILE`, - for stdin)")
			return func(ctx context.Context) error { return runDoctor(ctx, o) }
		},
	}
}

func runDoctor(ctx context.Context, o *doctorOptions) error {
	cfg, err := o.doctorConfig()
	if err != nil {
		return err
	}
	rep := doctor.Run(ctx, cfg)
	if o.g.json {
		if err := writeJSON(o.io.Out, doctorJSON(rep)); err != nil {
			return err
		}
	} else {
		printReport(o.io.Out, rep)
	}
	if rep.OK() {
		return nil
	}
	var failed []string
	for _, c := range rep.Checks {
		if c.Status == doctor.Fail {
			failed = append(failed, c.Name)
		}
	}
	return &checksFailed{failed: failed, total: len(rep.Checks)}
}

// doctorConfig builds the doctor's configuration from the flags.
func (o *doctorOptions) doctorConfig() (doctor.Config, error) {
	c, err := o.client()
	if err != nil {
		return doctor.Config{}, err
	}
	env := c.Environment()
	cfg := doctor.Config{Env: env, HTTPClient: &http.Client{}, Now: o.io.Now, Username: o.g.username}
	if st, err := o.store(); err != nil {
		cfg.Store = brokenStore{err} // reported by the stored session check
	} else {
		cfg.Store = st
		cfg.Refresh = doctor.TrialRefresh(c, st, env.Name, o.g.username)
	}
	o.fillISV()
	if o.isv.ClientID == "" && o.isv.KeyFile == "" {
		if o.isv.PublicKeyFile != "" || o.isv.ParticipantID != "" || len(o.isv.Endpoints) > 0 || o.assertionFile != "" {
			return cfg, usageErrorf(o.cmd, "the ISV checks need --client-id and --key")
		}
		return cfg, nil
	}
	ic := o.isv
	if o.assertionFile != "" {
		a, err := o.readAssertion()
		if err != nil {
			return cfg, err
		}
		ic.Assertion = a
	}
	cfg.ISV = &ic
	return cfg, nil
}

// readAssertion reads --assertion-file (or stdin for "-").
func (o *doctorOptions) readAssertion() (traderapi.Secret, error) {
	var r io.Reader = o.io.In
	if o.assertionFile != "-" {
		f, err := os.Open(o.assertionFile)
		if err != nil {
			return "", usageErrorf(o.cmd, "--assertion-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxLine))
	if err != nil {
		return "", fmt.Errorf("reading --assertion-file: %w", err)
	}
	return traderapi.Secret(strings.TrimSpace(string(b))), nil
}

// printReport prints one line per check, the fix after an arrow.
func printReport(w io.Writer, rep doctor.Report) {
	label := map[doctor.Status]string{doctor.OK: "ok", doctor.Warn: "WARN", doctor.Fail: "FAIL", doctor.Skipped: "skip"}
	for _, c := range rep.Checks {
		line := fmt.Sprintf("%-4s %-16s %s", or(label[c.Status], c.Status.String()), c.Name, c.Saw)
		if c.Fix != "" && c.Status != doctor.OK {
			line += " → " + c.Fix
		}
		fmt.Fprintln(w, line)
	}
}

// brokenStore is a keystore that could not be opened: every read returns
// why, for the doctor to report.
type brokenStore struct{ err error }

func (s brokenStore) Get(context.Context, keystore.Key) (*keystore.Record, error) { return nil, s.err }

func (s brokenStore) LastUser(context.Context, string) (string, error) { return "", s.err }

// doctorJSON is the report as --json prints it: {"ok", "status", "checks"},
// status being "fail" or "warn" if any check says so, else "ok" (a check
// skipped for want of ISV flags is not a problem).
func doctorJSON(rep doctor.Report) any {
	status := doctor.OK
	for _, c := range rep.Checks {
		if c.Status == doctor.Fail || (c.Status == doctor.Warn && status != doctor.Fail) {
			status = c.Status
		}
	}
	checks := rep.Checks
	if checks == nil {
		checks = []doctor.Check{}
	}
	return struct {
		OK     bool           `json:"ok"`
		Status doctor.Status  `json:"status"`
		Checks []doctor.Check `json:"checks"`
	}{rep.OK(), status, checks}
}

// fillISV takes the ISV flags not given from the environment, as `isv
// token` does (PMX_CLIENT_ID, PMX_KEY_FILE, PMX_AUTH_URL, ...).
func (o *doctorOptions) fillISV() {
	f := isvFlags{clientID: o.isv.ClientID, keyFile: o.isv.KeyFile, participantID: o.isv.ParticipantID,
		authURL: o.isv.AuthURL, audience: o.isv.Audience}
	f.fill(o.io.Getenv)
	o.isv.ClientID, o.isv.KeyFile, o.isv.ParticipantID = f.clientID, f.keyFile, f.participantID
	o.isv.AuthURL, o.isv.Audience = f.authURL, f.audience
}
