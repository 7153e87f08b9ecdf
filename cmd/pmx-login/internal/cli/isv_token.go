package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/traderapi"
)

type isvTokenOptions struct {
	*app
	agentFirst
	flags isvFlags
}

func isvTokenCommand() command {
	return command{
		name:    "isv token",
		args:    "--client-id ID --key FILE [--auth-url URL] [--audience URL]",
		summary: "Print an ISV partner's access token (Private Key JWT), and nothing else",
		long: `Signs an RS256 client assertion with the private key (iss = sub = the client ID,
aud = the token endpoint, a fresh jti), exchanges it at the token service of --env
and prints the access token and a newline on stdout; with --json,
{"access_token", "token_type", "expires_at", "expires_in", "scope"}. The token
lives about 3 minutes: get a new one for each batch of calls. The assertion and
the key are never printed, not even with --debug.
Exit 4 when the token service refuses the key (invalid_client) or the claims
(invalid_client_assertion), 5 when it cannot be reached.`,
		example: `export PMX_CLIENT_ID=$(cat clientid.txt) PMX_KEY_FILE=acme_preprod_private_key.pem
curl -H "Authorization: Bearer $(pmx-login isv token)" https://api.preprod.polymarketexchange.com/v1/whoami
pmx-login isv token --env prod --client-id "$ID" --key acme_prod_private_key.pem`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &isvTokenOptions{app: a}
			o.flags.bind(fs)
			o.agentFirst.bind(fs)
			return func(ctx context.Context) error { return isvFail(runISVToken(ctx, o)) }
		},
	}
}

func runISVToken(ctx context.Context, o *isvTokenOptions) error {
	var tj agent.TokenJSON
	if _, ok := o.askAgent(ctx, o.agentFirst, agent.PathISVToken, &tj); ok {
		exp, _ := time.Parse(time.RFC3339, tj.Expiry)
		return o.print(traderapi.Secret(tj.Token), exp, tj.Scope)
	}
	t, err := o.newISVTarget(o.flags)
	if err != nil {
		return err
	}
	defer t.src.Close()
	tok, err := t.src.Token(ctx)
	if err != nil {
		return err
	}
	return o.print(tok, t.src.Expiry(), t.src.Scope())
}

// print prints the token, or with --json the token with its type, expiry
// and scope.
func (o *isvTokenOptions) print(tok traderapi.Secret, exp time.Time, scope string) error {
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{
			"access_token": tok.Reveal(), "token_type": "Bearer", "expires_at": exp.UTC().Format(time.RFC3339),
			"expires_in": int(exp.Sub(o.io.Now()) / time.Second), "scope": scope,
		})
	}
	_, err := fmt.Fprintln(o.io.Out, tok.Reveal())
	return err
}
