package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/traderapi"
)

type tokenOptions struct {
	*app
	agentFirst
}

func tokenCommand() command {
	return command{
		name:    "token",
		summary: "Print a valid access token (refreshed if needed), and nothing else",
		long: `Uses the access token cached in the keystore while it is valid, and refreshes it
otherwise. Prints the raw token and a newline on stdout (the exchange wants no
"Bearer " prefix); with --json, {"token": TOKEN, "expiry": RFC 3339 UTC time},
both taken from the same state. A running ` + "`pmx-login agent`" + ` is asked first
(unless --no-agent): its token needs no keystore, so it works while Redis is down.`,
		example: `curl -H "Authorization: $(pmx-login token)" -H "Host: $PMX_HOST" \
  "$PMX_BASE_URL/api/v1beta1/insert_order" -d @order.json
# (the Host header is needed when PMX_BASE_URL is not the REST host itself,
#  as with the private link or 'pmx-login sandbox')`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &tokenOptions{app: a}
			o.agentFirst.bind(fs)
			return func(ctx context.Context) error { return runToken(ctx, o) }
		},
	}
}

// runToken takes the token with FreshToken: a one-shot process refreshes
// a stale token before it prints it, rather than starting a background
// refresh that its exit would cancel.
func runToken(ctx context.Context, o *tokenOptions) error {
	var tj agent.TokenJSON
	if _, ok := o.askAgent(ctx, o.agentFirst, agent.PathToken, &tj); ok {
		return o.printToken(traderapi.Secret(tj.Token), tj.Expiry)
	}
	m, err := o.resumed(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	ti, err := m.FreshToken(ctx)
	if err != nil {
		return err
	}
	return o.printToken(ti.Token, ti.Expiry.UTC().Format(time.RFC3339))
}

// printToken prints the token, or with --json the token and its expiry.
func (o *tokenOptions) printToken(tok traderapi.Secret, expiry string) error {
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{"token": tok.Reveal(), "expiry": expiry})
	}
	_, err := fmt.Fprintln(o.io.Out, tok.Reveal())
	return err
}
