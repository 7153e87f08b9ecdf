package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
)

type isvStatusOptions struct {
	*app
	flags isvFlags
}

func isvStatusCommand() command {
	return command{
		name:    "isv status",
		args:    "--client-id ID --key FILE [--participant-id ID] [--auth-url URL]",
		summary: "Get an ISV token and show what it grants, without printing it",
		long: `Shows the environment, client ID, key (size and thumbprint), token endpoint, API
audience and URL, then gets an access token and shows its issuer, expiry ("in 3m")
and scopes, one per line, and whether a participant ID is set for account-scoped
endpoints (trading, positions, reports). The token itself is never printed.
Exits as 'isv token' does: 4 when the key or claims are refused, 5 when the token
service cannot be reached.`,
		example: `pmx-login isv status --client-id "$(cat clientid.txt)" --key acme_preprod_private_key.pem
pmx-login isv status --json | jq -r '.scopes[]'`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &isvStatusOptions{app: a}
			o.flags.bind(fs)
			return func(ctx context.Context) error { return isvFail(runISVStatus(ctx, o)) }
		},
	}
}

func runISVStatus(ctx context.Context, o *isvStatusOptions) error {
	t, err := o.newISVTarget(o.flags)
	if err != nil {
		return err
	}
	defer t.src.Close()
	if !o.g.json {
		// The setup first, so that it is on screen when the token request fails.
		t.printSetup(o.io.Out)
	}
	tok, err := t.src.Token(ctx)
	if err != nil {
		return err
	}
	c := tokenClaims(tok)
	now, exp := o.io.Now(), t.src.Expiry()
	scopes := strings.Fields(t.src.Scope())
	if o.g.json {
		out := t.setupJSON()
		out["token_issuer"], out["token_subject"], out["token_audience"] = c.Issuer, c.Subject, c.Audience
		out["expires_at"] = exp.UTC().Format(time.RFC3339)
		out["expires_in"] = int(exp.Sub(now) / time.Second)
		out["scopes"] = append([]string{}, scopes...)
		return writeJSON(o.io.Out, out)
	}
	w := o.io.Out
	fmt.Fprintf(w, "token:          obtained (not shown), expires %s\n", when(now, exp))
	if c.Issuer != "" || c.Subject != "" {
		fmt.Fprintf(w, "issued by:      %s to %s\n", or(c.Issuer, "?"), or(c.Subject, "?"))
	}
	if len(scopes) == 0 {
		fmt.Fprintln(w, "scopes:         none: ask Polymarket support to grant the scopes your endpoints need")
	} else {
		fmt.Fprintln(w, "scopes:")
		for _, s := range scopes {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if p := t.flags.participantID; p != "" {
		fmt.Fprintf(w, "participant id: %s (sent as x-participant-id on account-scoped endpoints)\n", p)
	} else {
		fmt.Fprintf(w, "participant id: not set: account-scoped endpoints (trading, positions, reports) need --participant-id or %s\n", envParticipantID)
	}
	return nil
}

// printSetup prints what the flags resolved to.
func (t *isvTarget) printSetup(w io.Writer) {
	fmt.Fprintf(w, "environment:    %s\n", t.envName)
	fmt.Fprintf(w, "client id:      %s\n", t.flags.clientID)
	fmt.Fprintf(w, "key:            %s (%s)\n", t.flags.keyFile, describeISVKey(t.key))
	fmt.Fprintf(w, "token endpoint: %s\n", t.src.TokenURL())
	fmt.Fprintf(w, "audience:       %s\n", t.src.Audience())
	fmt.Fprintf(w, "api url:        %s\n", t.src.APIURL())
}

// setupJSON is the --json object of status without the token's part.
func (t *isvTarget) setupJSON() map[string]any {
	return map[string]any{
		"environment": t.envName, "client_id": t.flags.clientID, "key_file": t.flags.keyFile,
		"key_bits": t.key.N.BitLen(), "key_thumbprint": isvkit.Thumbprint(&t.key.PublicKey),
		"token_endpoint": t.src.TokenURL(), "audience": t.src.Audience(), "api_url": t.src.APIURL(),
		"participant_id": nilIfEmpty(t.flags.participantID), "participant_id_set": t.flags.participantID != "",
	}
}

// accessClaims are the claims of an access token status shows.
type accessClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience any    `json:"aud"` // a string or a list
}

// tokenClaims decodes an access token's claims without verifying it (the
// API does that). An opaque token gives none.
func tokenClaims(tok traderapi.Secret) accessClaims {
	var c accessClaims
	parts := strings.Split(tok.Reveal(), ".")
	if len(parts) != 3 {
		return c
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err == nil {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}
