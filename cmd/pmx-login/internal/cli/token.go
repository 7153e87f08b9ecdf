package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

type tokenOptions struct{ *app }

func tokenCommand() command {
	return command{
		name:    "token",
		summary: "Print a valid access token (refreshed if needed), and nothing else",
		long: `Uses the access token cached in the keystore while it is valid, and refreshes it
otherwise. Prints the raw token and a newline on stdout (the exchange wants no
"Bearer " prefix); with --json, {"token": TOKEN, "expiry": RFC 3339 UTC time},
both taken from the same state.`,
		example: `curl -H "Authorization: $(pmx-login token)" -H "Host: $PMX_HOST" \
  "$PMX_BASE_URL/api/v1beta1/insert_order" -d @order.json
# (the Host header is needed when PMX_BASE_URL is not the REST host itself,
#  as with the private link or 'pmx-login sandbox')`,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &tokenOptions{app: a}
			return func(ctx context.Context) error { return runToken(ctx, o) }
		},
	}
}

// runToken takes the token with FreshToken: a one-shot process refreshes
// a stale token before it prints it, rather than starting a background
// refresh that its exit would cancel.
func runToken(ctx context.Context, o *tokenOptions) error {
	m, _, err := o.manager()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Resume(ctx); err != nil {
		return err
	}
	ti, err := m.FreshToken(ctx)
	if err != nil {
		return err
	}
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"token": ti.Token.Reveal(), "expiry": ti.Expiry.UTC().Format(time.RFC3339)})
	}
	_, err = fmt.Fprintln(o.io.Out, ti.Token.Reveal())
	return err
}
