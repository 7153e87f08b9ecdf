package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/session/doctor"
)

type decodeOptions struct {
	*app
	fs *pflag.FlagSet // its arguments: the token, or "-"
}

func decodeCommand() command {
	return command{
		name:    "decode",
		args:    "[TOKEN | -]",
		maxArgs: 1,
		summary: "Show the header and claims of a JWT, without verifying it",
		long: `Decodes any JWT (an access token, a client assertion, a registration token) the way
the troubleshooting guides do on jwt.io, but offline: header and claims pretty-printed,
iat/nbf/exp in UTC and relative to now ("expired 3m ago"), the scopes one per line.
The signature is neither verified nor printed. The token is the argument, or read from
stdin with - or no argument (asked for without echo on a terminal); prefer stdin, since
an argument shows in the process list and shell history. A "Bearer " prefix is ignored. A token that is not a JWT,
or is cut short, is a usage error (exit 2) naming the part that is bad.`,
		example: `pmx-login token | pmx-login decode
pmx-login decode --json - < token.txt | jq -r '.claims.exp'
pmx-login decode - < registration.jwt`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &decodeOptions{app: a, fs: fs}
			return func(ctx context.Context) error { return runDecode(ctx, o) }
		},
	}
}

func runDecode(ctx context.Context, o *decodeOptions) error {
	raw, err := o.token(ctx)
	if err != nil {
		return err
	}
	d, err := doctor.DecodeJWT(raw)
	if err != nil {
		return usageErrorf(o.cmd, "not a JWT: %v", err)
	}
	now := o.io.Now()
	if o.g.json {
		return writeJSON(o.io.Out, decodeJSON(d, now))
	}
	return printDecoded(o.io.Out, d, now)
}

// token reads the token from the argument, else from stdin.
func (o *decodeOptions) token(ctx context.Context) (string, error) {
	args := o.fs.Args()
	switch {
	case len(args) > 1:
		return "", usageErrorf(o.cmd, "give one token, or - to read it from stdin")
	case len(args) == 1 && args[0] != "-":
		return args[0], nil
	case o.io.InTTY && len(args) == 0:
		s, err := o.io.ReadSecret(ctx, "Token: ")
		if err != nil {
			return "", fmt.Errorf("reading the token: %w", err)
		}
		return s, nil
	}
	b, err := io.ReadAll(io.LimitReader(o.io.In, maxLine+1))
	if err != nil {
		return "", fmt.Errorf("reading the token from stdin: %w", err)
	}
	if len(b) > maxLine {
		return "", usageErrorf(o.cmd, "the input is over %d bytes: not a token", maxLine)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usageErrorf(o.cmd, "no token given: pass it as the argument or on stdin")
	}
	return string(b), nil
}

// timeClaims are the NumericDate claims shown as times.
var timeClaims = []string{"iat", "nbf", "exp"}

// describeTime says what a time claim means relative to now.
func describeTime(name string, t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case name == "exp" && d <= 0:
		return "expired " + shortDuration(-d) + " ago"
	case name == "exp":
		return "expires in " + shortDuration(d)
	case name == "nbf" && d > 0:
		return "not valid for another " + shortDuration(d)
	case d > 0:
		return "in " + shortDuration(d) + " (ahead of the local clock)"
	}
	return shortDuration(-d) + " ago"
}

func printDecoded(w io.Writer, d *doctor.Decoded, now time.Time) error {
	for _, part := range []struct {
		title string
		v     map[string]any
	}{{"Header", d.Header}, {"Claims", d.Claims}} {
		b, err := json.MarshalIndent(part.v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s:\n  %s\n", part.title, b)
	}
	fmt.Fprintln(w, "Times (UTC):")
	shown := false
	for _, name := range timeClaims {
		if t, ok := d.Time(name); ok {
			fmt.Fprintf(w, "  %-4s %s  %s\n", name, t.Format("2006-01-02 15:04:05"), describeTime(name, t, now))
			shown = true
		}
	}
	if !shown {
		fmt.Fprintln(w, "  (no iat, nbf or exp)")
	}
	fmt.Fprintln(w, "Scopes:")
	scopes := d.Scopes()
	if len(scopes) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, s := range scopes {
		fmt.Fprintf(w, "  %s\n", s)
	}
	sig := "none (an unsigned token)"
	if d.Signed {
		sig = "present, not verified, not shown"
	}
	fmt.Fprintf(w, "Signature: %s\n", sig)
	return nil
}

// decodeJSON is the --json object of decode.
func decodeJSON(d *doctor.Decoded, now time.Time) map[string]any {
	times := map[string]any{}
	for _, name := range timeClaims {
		if t, ok := d.Time(name); ok {
			times[name] = map[string]any{"utc": t.Format(time.RFC3339), "relative": describeTime(name, t, now)}
		}
	}
	scopes := d.Scopes()
	if scopes == nil {
		scopes = []string{}
	}
	return map[string]any{"header": d.Header, "claims": d.Claims, "times": times, "scopes": scopes,
		"signed": d.Signed, "verified": false}
}
