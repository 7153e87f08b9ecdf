package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// demoTimeout bounds the whole demo.
const demoTimeout = 2 * time.Minute

type demoOptions struct{ *app }

func demoCommand() command {
	return command{
		name:    "demo",
		summary: "Walk through every flow against a local exchange (start here)",
		long: `Starts a local exchange in this process, with a memory keystore, and walks
register, check-password, login, mfa enroll (QR shown), mfa confirm, login with a
one-time code, token, refresh, status, change-password and logout, then the ISV
partner's flow (a key pair, a token for a signed client assertion, an API call),
saying what each step did. Nothing leaves the machine; no password or token is printed.`,
		example:   `go run ./cmd/pmx-login demo`,
		noTimeout: true,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &demoOptions{app: a}
			return func(ctx context.Context) error { return runDemo(ctx, o) }
		},
	}
}

// demo is the state the demo's steps share.
type demo struct {
	o      *demoOptions
	srv    *traderapitest.Server
	client *traderapi.Client
	m      *session.Manager
	user   string
	pw     traderapi.Secret
	enroll *mfa.Enrollment
	gen    *mfa.Generator
	isv    *demoISV
}

// demoStep is one step of the demo: its name and what it does.
type demoStep struct {
	name string
	run  func(context.Context) (string, error)
}

func runDemo(ctx context.Context, o *demoOptions) error {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	opts := []traderapi.Option{traderapi.WithClock(o.io.Now)} // the session's clock too
	if o.g.debug {
		opts = append(opts, traderapi.WithDebug(o.io.Err))
	}
	client, err := srv.Client(opts...)
	if err != nil {
		return err
	}
	m, err := session.New(session.Config{Client: client, Store: keystore.NewMemory(), Now: o.io.Now})
	if err != nil {
		return err
	}
	defer m.Close()
	d := &demo{o: o, srv: srv, client: client, m: m, user: sandboxUser, pw: demoPassword()}
	defer func() { d.isv.close() }()
	fmt.Fprintf(o.io.Out, "A local exchange is running at %s (Host %s), with a memory keystore:\n", srv.URL, srv.Host())
	fmt.Fprintf(o.io.Out, "nothing leaves this machine, and no password or token is shown.\n\n")
	for _, s := range append(d.traderSteps(), d.isvSteps()...) {
		what, err := s.run(ctx)
		if err != nil {
			return fmt.Errorf("demo step %q failed: %w", s.name, err)
		}
		fmt.Fprintf(o.io.Out, "✓ %s: %s\n", s.name, what)
	}
	fmt.Fprint(o.io.Out, `
Done. To try each command yourself, run 'pmx-login sandbox' in one terminal and
paste the lines it prints into another; 'pmx-login --help' lists the commands.
`)
	return nil
}

// traderSteps are the trader's steps of the demo.
func (d *demo) traderSteps() []demoStep {
	return []demoStep{
		{"check-password", d.checkPassword},
		{"register", d.register},
		{"login", d.login},
		{"mfa enroll", d.mfaEnroll},
		{"mfa confirm", d.mfaConfirm},
		{"login without a code", d.loginWithoutCode},
		{"login with a code", d.loginWithCode},
		{"token", d.token},
		{"a trading call", d.tradingCall},
		{"refresh", d.refresh},
		{"status", d.status},
		{"change-password", d.changePassword},
		{"logout", d.logout},
		{"token after logout", d.tokenAfterLogout},
	}
}

// demoPassword is a fresh password that meets the exchange's policy.
func demoPassword() traderapi.Secret {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return traderapi.Secret("demo-" + hex.EncodeToString(b) + "-7")
}

func (d *demo) hhmm(t time.Time) string {
	return t.Local().Format("15:04:05") + " (" + relative(d.o.io.Now(), t) + ")"
}

func (d *demo) checkPassword(ctx context.Context) (string, error) {
	_, err := d.client.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: "password"})
	var ae *traderapi.APIError
	if !errors.As(err, &ae) {
		return "", fmt.Errorf("a weak password was not refused: %v", err)
	}
	if _, err := d.client.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: d.pw}); err != nil {
		return "", err
	}
	return fmt.Sprintf("\"password\" is refused (%s); a random 26-character one passes", strings.TrimPrefix(ae.Message, "password does not meet policy: ")), nil
}

func (d *demo) register(ctx context.Context) (string, error) {
	res, err := d.client.Register(ctx, traderapi.RegisterRequest{Token: traderapi.Secret(d.srv.RegistrationToken(d.user)), Password: d.pw})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("account %s created with the account manager's one-time registration token", res.Username), nil
}

func (d *demo) login(ctx context.Context) (string, error) {
	if err := d.m.Login(ctx, d.user, d.pw, ""); err != nil {
		return "", err
	}
	st := d.m.Status()
	return fmt.Sprintf("access token valid until %s; the refresh token keeps the session until %s",
		d.hhmm(st.AccessExpiry), st.RefreshExpiry.Local().Format("2006-01-02")), nil
}

func (d *demo) mfaEnroll(ctx context.Context) (string, error) {
	e, err := mfa.Enroll(ctx, d.client, d.user, d.pw)
	if err != nil {
		return "", err
	}
	d.enroll = e
	// The exchange's clock: the demo moves it on instead of waiting 30 s
	// for a fresh code window.
	if d.gen, err = mfa.NewGenerator(e, mfa.WithClock(d.srv.Now)); err != nil {
		return "", err
	}
	fmt.Fprintln(d.o.io.Out, "This QR code is what an authenticator app scans:")
	if err := d.o.writeQR(d.o.io.Out, e); err != nil {
		return "", err
	}
	return fmt.Sprintf("the QR code above holds the TOTP secret (issuer %q, %d digits every %d s)", e.Issuer, int(e.Digits), e.Period), nil
}

func (d *demo) mfaConfirm(ctx context.Context) (string, error) {
	code, err := d.gen.Code(ctx)
	if err != nil {
		return "", err
	}
	if err := mfa.Confirm(ctx, d.client, d.user, d.pw, code); err != nil {
		return "", err
	}
	return "the authenticator's current code was accepted: MFA is on", nil
}

func (d *demo) loginWithoutCode(ctx context.Context) (string, error) {
	err := d.m.Login(ctx, d.user, d.pw, "")
	if !errors.Is(err, traderapi.ErrOTPRequired) {
		return "", fmt.Errorf("want the exchange to ask for a code, got %v", err)
	}
	return "refused, the exchange wants a one-time code now (pmx-login would ask for it)", nil
}

func (d *demo) loginWithCode(ctx context.Context) (string, error) {
	d.srv.Advance(time.Duration(d.enroll.Period) * time.Second) // a code is accepted once per window
	code, err := d.gen.Code(ctx)
	if err != nil {
		return "", err
	}
	if err := d.m.Login(ctx, d.user, d.pw, code); err != nil {
		return "", err
	}
	return fmt.Sprintf("with the next window's code; access token valid until %s", d.hhmm(d.m.Status().AccessExpiry)), nil
}

func (d *demo) token(ctx context.Context) (string, error) {
	tok, err := d.m.Token(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (`pmx-login token` prints it whole, for curl -H \"Authorization: $(pmx-login token)\")", tok.Prefix(6)), nil
}

func (d *demo) tradingCall(ctx context.Context) (string, error) {
	req, err := d.client.NewRequest(ctx, http.MethodPost, traderapi.PathInsertOrder,
		strings.NewReader(`{"symbol":"aec-nfl-buf-nyj-2025-01-15","side":"SIDE_BUY","order_qty":"10","price":"0.55"}`))
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: d.m.Transport(d.srv.HTTPClient().Transport)}).Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("insert_order answered %s", resp.Status)
	}
	return "insert_order answered " + resp.Status + " through session.Manager.Transport, as a bot's orders do", nil
}

func (d *demo) refresh(ctx context.Context) (string, error) {
	if err := d.m.Refresh(ctx); err != nil {
		return "", err
	}
	return "new access token valid until " + d.hhmm(d.m.Status().AccessExpiry), nil
}

func (d *demo) status(context.Context) (string, error) {
	st := d.m.Status()
	now := d.o.io.Now()
	return fmt.Sprintf("%s in %s, logged in, access %s, refresh %s, MFA %s, keystore memory",
		st.Username, st.Environment, relative(now, st.AccessExpiry), relative(now, st.RefreshExpiry), mfaState(st.MFA, false)), nil
}

func (d *demo) changePassword(ctx context.Context) (string, error) {
	next := demoPassword()
	if _, err := d.client.ChangePassword(ctx, traderapi.ChangePasswordRequest{Username: d.user, OldPassword: d.pw, NewPassword: next}); err != nil {
		return "", err
	}
	d.pw = next
	return "the password is changed; the session stays valid", nil
}

func (d *demo) logout(ctx context.Context) (string, error) {
	if err := d.m.Logout(ctx); err != nil {
		return "", err
	}
	return "tokens revoked on the exchange, session removed from the keystore", nil
}

func (d *demo) tokenAfterLogout(ctx context.Context) (string, error) {
	_, err := d.m.Token(ctx)
	if !errors.Is(err, session.ErrNotLoggedIn) {
		return "", fmt.Errorf("want not logged in, got %v", err)
	}
	return "not logged in (`pmx-login token` would exit 3 and say: run `pmx-login login`)", nil
}
