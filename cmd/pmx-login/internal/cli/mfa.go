package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
)

// qrPNGSize is the side of the --qr-png image, in pixels.
const qrPNGSize = 512

type mfaEnrollOptions struct {
	*app
	qrPNG                   string
	storeSecret, showSecret bool
	passwordStdin           bool
}

func mfaEnrollCommand() command {
	return command{
		name:       "mfa enroll",
		args:       "[--qr-png FILE] [--store-secret] [--show-secret] [--password-stdin]",
		summary:    "Start TOTP two-factor enrollment: shows a QR code to scan",
		ownTimeout: true,
		long: `Draws the QR code on the terminal (black on white, so it scans on any theme) and,
with --qr-png, also writes it to a PNG file of mode 0600 (delete it once scanned).
The TOTP secret is never printed as text unless you ask with --show-secret.
--store-secret keeps the secret in the keystore so that 'mfa code' and 'login' can
compute codes for unattended bots: that puts both factors in one place.
Then confirm with 'pmx-login mfa confirm --otp CODE'.`,
		example: `pmx-login mfa enroll --username trader1
pmx-login mfa enroll --qr-png qr.png --store-secret   # for a bot`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &mfaEnrollOptions{app: a}
			fs.StringVar(&o.qrPNG, "qr-png", "", "also write the QR code to `FILE` (PNG, mode 0600, never overwritten)")
			fs.BoolVar(&o.storeSecret, "store-secret", false, "keep the TOTP secret in the keystore for unattended codes")
			fs.BoolVar(&o.showSecret, "show-secret", false, "print the secret as text, for typing it into an authenticator")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runMFAEnroll(ctx, o) }
		},
	}
}

func runMFAEnroll(ctx context.Context, o *mfaEnrollOptions) error {
	if o.qrPNG != "" {
		// Refuse before enrolling: a second enroll_mfa replaces the secret.
		if _, err := os.Lstat(o.qrPNG); err == nil {
			return usageErrorf(o.cmd, "--qr-png %s already exists; remove it or choose another file name", o.qrPNG)
		}
	}
	user, pw, c, err := o.userPasswordClient(ctx, o.passwordStdin)
	if err != nil {
		return err
	}
	ctx, cancel := o.timed(ctx) // after the prompts
	defer cancel()
	e, err := mfa.Enroll(ctx, c, user, pw)
	if err != nil {
		return fmt.Errorf("mfa enroll for %s: %w", user, err)
	}
	if o.qrPNG != "" {
		if err := mfa.WritePNG(o.qrPNG, e, qrPNGSize); err != nil {
			return err
		}
	}
	if o.storeSecret {
		fmt.Fprintln(o.io.Err, "Warning:", mfa.StoreSecretWarning)
		if err := o.storeEnrollment(ctx, c.Environment().Name, user, e); err != nil {
			return err
		}
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{
			"issuer": e.Issuer, "account": e.Account, "digits": int(e.Digits), "period": e.Period,
			"algorithm": e.Algorithm.String(), "qr_png": nilIfEmpty(o.qrPNG), "secret_stored": o.storeSecret,
		})
	}
	w := o.io.Out
	fmt.Fprintln(w, "Scan this QR code with your authenticator app:")
	if err := o.writeQR(w, e); err != nil {
		return err
	}
	fmt.Fprintf(w, "issuer %q, account %q: %d digits every %ds (%s)\n", e.Issuer, e.Account, int(e.Digits), e.Period, e.Algorithm)
	if o.showSecret {
		fmt.Fprintf(w, "secret for manual entry: %s\n", e.ManualKey())
	}
	if o.qrPNG != "" {
		fmt.Fprintf(w, "QR code also written to %s (mode 0600): delete it once scanned.\n", o.qrPNG)
	}
	if o.storeSecret {
		fmt.Fprintf(w, "TOTP secret stored in the keystore (%s): `pmx-login mfa code` prints codes.\n", o.backendName())
	}
	fmt.Fprintln(w, "Next: pmx-login mfa confirm   (it asks for the code your app shows now)")
	return nil
}

func (o *mfaEnrollOptions) storeEnrollment(ctx context.Context, env, user string, e *mfa.Enrollment) error {
	st, err := o.store()
	if err != nil {
		return err
	}
	k := keystore.Key{Environment: env, Username: user, Item: keystore.ItemTOTP}
	if err := st.Set(ctx, k, &keystore.Record{OTPAuthURL: e.StoredURL(), SavedAt: o.io.Now()}); err != nil {
		return fmt.Errorf("storing the TOTP secret: %w", err)
	}
	return nil
}

// writeQR draws the QR code, with colour escapes only on a terminal and
// without NO_COLOR (https://no-color.org).
func (a *app) writeQR(w io.Writer, e *mfa.Enrollment) error {
	if a.colour() {
		return mfa.WriteTerminalQR(w, e)
	}
	return mfa.WritePlainQR(w, e)
}

// colour reports whether stdout may carry escape codes.
func (a *app) colour() bool { return a.io.OutTTY && a.io.Getenv("NO_COLOR") == "" }

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// userPasswordClient gathers what enroll and confirm need.
func (a *app) userPasswordClient(ctx context.Context, passwordStdin bool) (string, traderapi.Secret, *traderapi.Client, error) {
	user, err := a.user(ctx)
	if err != nil {
		return "", "", nil, err
	}
	c, err := a.client()
	if err != nil {
		return "", "", nil, err
	}
	pw, err := (&secretInput{a: a, fromStdin: passwordStdin}).read(ctx, "Password for "+user+": ", "password")
	if err != nil {
		return "", "", nil, err
	}
	return user, pw, c, nil
}

// user is --username, else the environment's last user, else asked for.
func (a *app) user(ctx context.Context) (string, error) {
	u, err := a.currentUser(ctx)
	if err == nil || a.g.username != "" {
		return u, err
	}
	if !a.io.InTTY {
		return "", err
	}
	return a.username(ctx)
}

type mfaCodeOptions struct{ *app }

func mfaCodeCommand() command {
	return command{
		name:    "mfa code",
		summary: "Print the current one-time code from the TOTP secret in the keystore",
		long: `Needs a secret stored by 'mfa enroll --store-secret'. The exchange accepts each
code once: two logins within one 30-second window need two windows.`,
		ownTimeout: true,
		example: `pmx-login mfa code
{ cat password.txt; pmx-login mfa code; } | pmx-login login --password-stdin --otp -`,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &mfaCodeOptions{app: a}
			return func(ctx context.Context) error { return runMFACode(ctx, o) }
		},
	}
}

func runMFACode(ctx context.Context, o *mfaCodeOptions) error {
	user, err := o.currentUser(ctx)
	if err != nil {
		return err
	}
	g, err := o.storedGenerator(ctx, user)
	if isNotFound(err) {
		return fmt.Errorf("%w for %s in %s", errNoTOTPSecret, user, o.g.env)
	}
	if err != nil {
		return err
	}
	if last, now := o.lastOTPStep(ctx, user), o.io.Now(); otpStep(now) <= last {
		wait := time.Unix((last+1)*otpPeriod, 0).Sub(now)
		fmt.Fprintf(o.io.Err, "The code of this window was already used; waiting %s for the next one…\n", wait.Round(time.Second))
		if err := o.io.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	code, err := g.Code(ctx)
	if err != nil {
		return err
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"code": code.Reveal()})
	}
	_, err = fmt.Fprintln(o.io.Out, code.Reveal())
	return err
}
