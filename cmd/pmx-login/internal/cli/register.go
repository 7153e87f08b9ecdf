package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

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
		args:    "[--token JWT | --token-file FILE] [--password-stdin]",
		summary: "Create your account with the registration token from your account manager",
		long: `Checks the password against the exchange's policy first (check_password), then
registers. On a terminal the password is asked for twice; with --password-stdin it is
the first line of stdin. Without --token or --token-file, the token is asked for on
the terminal. Registration is a one-time operation; it does not log in.`,
		example: `pmx-login register --token-file ~/Downloads/registration.jwt
printf '%s\n' "$PASSWORD" | pmx-login register --token-file reg.jwt --password-stdin`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &registerOptions{app: a}
			fs.StringVar(&o.token, "token", "", "the registration token (a JWT); prefer --token-file, flags show in `ps`")
			fs.StringVar(&o.tokenFile, "token-file", "", "read the registration token from `FILE`")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
			return func(ctx context.Context) error { return runRegister(ctx, o) }
		},
	}
}

func runRegister(ctx context.Context, o *registerOptions) error {
	tok, err := o.registrationToken()
	if err != nil {
		return err
	}
	in := &secretInput{a: o.app, fromStdin: o.passwordStdin}
	pw, err := in.readNew("Password: ", "password")
	if err != nil {
		return err
	}
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.CheckPassword(ctx, pw); err != nil {
		return fmt.Errorf("the password was refused: %w", err)
	}
	res, err := m.Register(ctx, tok, pw)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	user := or(res.Username, "your account")
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"registered": true, "environment": m.Environment(), "username": res.Username})
	}
	fmt.Fprintf(o.io.Out, "✓ Registered %s in %s.\n", user, m.Environment())
	if res.Username != "" {
		fmt.Fprintf(o.io.Out, "Next: pmx-login login --username %s\n", res.Username)
	}
	return nil
}

// registrationToken reads the token from --token, --token-file or the
// terminal.
func (o *registerOptions) registrationToken() (traderapi.Secret, error) {
	switch {
	case o.token != "" && o.tokenFile != "":
		return "", usageErrorf(o.cmd, "give --token or --token-file, not both")
	case o.token != "":
		return traderapi.Secret(strings.TrimSpace(o.token)), nil
	case o.tokenFile != "":
		f, err := os.Open(o.tokenFile)
		if err != nil {
			return "", fmt.Errorf("reading the registration token: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 64<<10))
		if err != nil {
			return "", fmt.Errorf("reading the registration token from %s: %w", o.tokenFile, err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", usageErrorf(o.cmd, "the token file %s is empty", o.tokenFile)
		}
		return traderapi.Secret(tok), nil
	case o.io.InTTY && !o.passwordStdin:
		in := &secretInput{a: o.app}
		return in.read("Registration token: ", "registration token")
	}
	return "", usageErrorf(o.cmd, "no registration token: give --token-file FILE (or --token JWT)")
}
