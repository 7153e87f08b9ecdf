package cli

import (
	"context"
	"fmt"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/mfa"
	"github.com/pmx-login/pmx-login/traderapi"
)

// errOTPCommand marks a failure of the PMX_OTP_COMMAND command.
var errOTPCommand = fmt.Errorf("the %s command did not give a code", envOTPCommand)

// codeSource picks where a login's one-time code comes from: the command
// in PMX_OTP_COMMAND, else the TOTP secret stored for the user (fromSecret),
// else the terminal. Without any, the error is errNoOTP.
func (a *app) codeSource(ctx context.Context, user string) (src mfa.CodeSource, fromSecret bool, err error) {
	if cmdline := a.io.Getenv(envOTPCommand); cmdline != "" {
		c, err := mfa.NewCommandSource(cmdline)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", errOTPCommand, err)
		}
		return commandSource{c}, false, nil
	}
	g, err := a.storedGenerator(ctx, user)
	switch {
	case err == nil:
		return g, true, nil
	case !isNotFound(err):
		return nil, false, err
	}
	if a.io.InTTY {
		return promptSource{a: a}, false, nil
	}
	return nil, false, errNoOTP
}

// commandSource marks the command's failures as errOTPCommand.
type commandSource struct{ c *mfa.CommandSource }

func (s commandSource) Code(ctx context.Context) (traderapi.Secret, error) {
	code, err := s.c.Code(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errOTPCommand, err)
	}
	return code, nil
}

// storedGenerator returns a generator for the TOTP secret stored for user,
// or an error matching keystore.ErrNotFound.
func (a *app) storedGenerator(ctx context.Context, user string) (*mfa.Generator, error) {
	env, err := a.environment()
	if err != nil {
		return nil, err
	}
	st, err := a.store()
	if err != nil {
		return nil, err
	}
	rec, err := st.Get(ctx, keystore.Key{Environment: env.Name, Username: user, Item: keystore.ItemTOTP})
	if err != nil {
		return nil, err
	}
	if rec.OTPAuthURL.IsZero() {
		return nil, fmt.Errorf("the stored TOTP entry of %s has no secret: %w", user, keystore.ErrNotFound)
	}
	g, err := mfa.GeneratorFromURL(rec.OTPAuthURL, mfa.WithClock(a.io.Now), mfa.WithSleep(a.io.Sleep))
	if err != nil {
		return nil, fmt.Errorf("the stored TOTP secret of %s is unusable: %w", user, err)
	}
	return g, nil
}

// promptSource asks for the code on the terminal.
type promptSource struct{ a *app }

func (p promptSource) Code(ctx context.Context) (traderapi.Secret, error) {
	v, err := p.a.io.ReadSecret(ctx, "One-time code: ")
	if err != nil {
		return "", fmt.Errorf("reading the code: %w", err)
	}
	return validOTP(v, 0)
}

// fixedSource is a code given on the command line (--otp): it has one.
type fixedSource struct{ code traderapi.Secret }

func (f fixedSource) Code(context.Context) (traderapi.Secret, error) { return f.code, nil }

// validOTP checks a typed code with mfa.ValidateCode; a bad one matches
// errBadOTP.
func validOTP(code string, digits int) (traderapi.Secret, error) {
	c, err := mfa.ValidateCode(code, digits)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadOTP, err)
	}
	return c, nil
}

// flagOTP reads --otp: a code, or "-" for one line of stdin (after the
// password's line with --password-stdin). A malformed code is a usage
// error: nothing is sent.
func (a *app) flagOTP(ctx context.Context, flag string) (traderapi.Secret, error) {
	v := flag
	if flag == "-" {
		line, err := a.readLine(ctx)
		if err != nil {
			return "", usageErrorf(a.cmd, "--otp -: reading the code from stdin: %v", err)
		}
		v = line
	}
	c, err := validOTP(v, 0)
	if err != nil {
		return "", &usageError{cmd: a.cmd, msg: "--otp: " + err.Error()}
	}
	return c, nil
}
