package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/traderapi"
)

type registerOptions struct {
	*app
	token, tokenFile string
	passwordStdin    bool
}

func registerCommand() command {
	return command{
		name:    "register",
		args:    "[--token-file FILE | --token JWT] [--password-stdin]",
		summary: "Create your account with the registration token from your account manager",
		long: `Decodes the registration token locally first: one that is not a JWT or has expired
is refused before anything is asked or sent. The password is checked against the
exchange's policy (check_password) as soon as it is typed: on a terminal a refused one
is asked for again with the exchange's reason, then repeated; with --password-stdin it
is the first line of stdin, and a refused one ends the command (exit 4). Without
--token-file or --token, the token is asked for on the terminal. Prefer --token-file:
a flag's value shows in the process list. Registration is a one-time operation; it
does not log in.`,
		example: `pmx-login register --token-file ~/Downloads/registration.jwt
printf '%s\n' "$PASSWORD" | pmx-login register --token-file reg.jwt --password-stdin`,
		ownTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &registerOptions{app: a}
			fs.StringVar(&o.token, "token", "", "the registration `JWT`; prefer --token-file: a flag's value shows in the process list")
			fs.StringVar(&o.tokenFile, "token-file", "", "read the registration token from `FILE` (- for stdin)")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runRegister(ctx, o) }
		},
	}
}

func runRegister(ctx context.Context, o *registerOptions) error {
	tok, err := o.registrationToken(ctx)
	if err != nil {
		return err
	}
	if err := o.checkRegistrationToken(tok); err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	in := &secretInput{a: o.app, fromStdin: o.passwordStdin}
	pw, err := in.readNew(ctx, "Password: ", "password", func(ctx context.Context, p traderapi.Secret) error {
		ctx, cancel := o.timed(ctx)
		defer cancel()
		if _, err := c.CheckPassword(ctx, traderapi.CheckPasswordRequest{Password: p}); err != nil {
			return fmt.Errorf("the password was refused: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ctx, cancel := o.timed(ctx)
	defer cancel()
	res, err := c.Register(ctx, traderapi.RegisterRequest{Token: tok, Password: pw})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	env := c.Environment().Name
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"registered": true, "environment": env, "username": res.Username})
	}
	fmt.Fprintf(o.io.Out, "✓ Registered %s in %s.\n", or(res.Username, "your account"), env)
	if res.Username != "" {
		fmt.Fprintf(o.io.Out, "Next: pmx-login login --username %s\n", res.Username)
	}
	return nil
}

// checkRegistrationToken decodes the token as a JWT, without verifying it
// (only the exchange can): one that is not a JWT, or has expired by its exp
// claim, is a usage error before any password is asked for or sent. The
// error never quotes the token.
func (o *registerOptions) checkRegistrationToken(tok traderapi.Secret) error {
	var claims jwt.RegisteredClaims
	_, _, err := jwt.NewParser().ParseUnverified(tok.Reveal(), &claims)
	if err != nil {
		return usageErrorf(o.cmd, "the registration token is not a JWT (%s): give the token your account manager sent, whole",
			jwtProblem(err))
	}
	if claims.ExpiresAt != nil && !o.io.Now().Before(claims.ExpiresAt.Time) {
		return usageErrorf(o.cmd, "the registration token expired %s: ask your account manager for a new one",
			relative(o.io.Now(), claims.ExpiresAt.Time))
	}
	return nil
}

// jwtProblem names what is wrong with a token golang-jwt could not parse,
// without its text (which may quote the token).
func jwtProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "it is not three base64url parts of JSON"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "its header is unusable"
	}
	return "it cannot be decoded"
}

// registrationToken reads the token from --token, --token-file or the
// terminal.
func (o *registerOptions) registrationToken(ctx context.Context) (traderapi.Secret, error) {
	switch {
	case o.token != "" && o.tokenFile != "":
		return "", usageErrorf(o.cmd, "give --token-file or --token, not both")
	case o.token != "":
		return traderapi.Secret(strings.TrimSpace(o.token)), nil
	case o.tokenFile == "-" && o.passwordStdin:
		return "", usageErrorf(o.cmd, "--token-file - and --password-stdin both read stdin: give the token in a file")
	case o.tokenFile != "":
		return o.readTokenFile()
	case o.io.InTTY && !o.passwordStdin:
		in := &secretInput{a: o.app}
		return in.read(ctx, "Registration token: ", "registration token")
	}
	return "", usageErrorf(o.cmd, "no registration token: give --token-file FILE")
}

func (o *registerOptions) readTokenFile() (traderapi.Secret, error) {
	var r io.Reader = o.io.In
	if o.tokenFile != "-" {
		f, err := os.Open(o.tokenFile)
		if err != nil {
			return "", usageErrorf(o.cmd, "reading the registration token: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the registration token from %s: %w", o.tokenFile, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", usageErrorf(o.cmd, "the token file %s is empty", o.tokenFile)
	}
	return traderapi.Secret(tok), nil
}
