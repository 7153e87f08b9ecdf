package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi"
)

// partnerToken requests a partner access token, once per run.
func (r *runner) partnerToken(ctx context.Context) (traderapi.Secret, error) {
	st := &r.isv
	if st.tokDone {
		return st.tok, st.tokErr
	}
	st.tokDone = true
	src, err := r.source()
	if err != nil {
		st.tokErr = err
		return "", err
	}
	sctx, cancel := r.step(ctx)
	defer cancel()
	st.tok, st.tokErr = src.Token(sctx)
	return st.tok, st.tokErr
}

// isvToken makes one real token request with a fresh assertion.
func (r *runner) isvToken(ctx context.Context) Check {
	src, err := r.source()
	if err != nil {
		return sourceCheck(NameISVToken, err)
	}
	tok, err := r.partnerToken(ctx)
	clientID := r.cfg.ISV.ClientID
	switch {
	case errors.Is(err, isv.ErrInvalidClient):
		return newCheck(NameISVToken, Fail, errText(err),
			fmt.Sprintf("the signature did not verify with the key registered for client ID %s: use the private key matching the public key from onboarding, "+
				"this environment's client ID (clientid.txt) and this environment's auth URL; see isv public key", clientID))
	case errors.Is(err, isv.ErrInvalidClientAssertion):
		return newCheck(NameISVToken, Fail, errText(err),
			"the assertion's claims were refused: see isv assertion (aud must be the token endpoint, a fresh jti each time, exp ≤ iat + 300 s, a synchronised clock)")
	case errors.Is(err, traderapi.ErrForbidden):
		return newCheck(NameISVToken, Fail, errText(err), "the client is not allowed this API audience or your IP is not allowlisted: contact support")
	case errors.Is(err, traderapi.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return newCheck(NameISVToken, Fail, errText(err), "the token endpoint "+src.TokenURL()+" could not be reached: check --auth-url and the network")
	case err != nil:
		return newCheck(NameISVToken, Fail, errText(err), "")
	}
	saw := "the token endpoint " + src.TokenURL() + " issued an access token"
	if d, err := DecodeJWT(tok.Reveal()); err == nil {
		saw += fmt.Sprintf(" for aud %q", strings.Join(d.Audience(), " "))
		if exp, ok := d.Time("exp"); ok {
			saw += ", expiring " + human(r.cfg.Now(), exp)
		}
	}
	return newCheck(NameISVToken, OK, saw+"; scopes: "+cmpOr(src.Scope(), "(none)"), "")
}

// endpoint is one "METHOD /path" of [ISVConfig.Endpoints].
type endpoint struct{ method, path string }

func (e endpoint) String() string { return e.method + " " + e.path }

// parseEndpoints reads "METHOD /path" entries ("GRPC Name" for gRPC).
func parseEndpoints(specs []string) ([]endpoint, error) {
	var out []endpoint
	for _, s := range specs {
		f := strings.Fields(s)
		if len(f) != 2 || (f[1][0] != '/' && !strings.EqualFold(f[0], "GRPC")) {
			return nil, fmt.Errorf("endpoint %q is not \"METHOD /path\" (example: \"GET /v1/positions\")", s)
		}
		out = append(out, endpoint{method: strings.ToUpper(f[0]), path: f[1]})
	}
	return out, nil
}

// isvScopes checks that the partner token has the scope each named endpoint
// needs (the ISV authentication guide's table).
func (r *runner) isvScopes(ctx context.Context) Check {
	eps, err := parseEndpoints(r.cfg.ISV.Endpoints)
	switch {
	case err != nil:
		return newCheck(NameISVScopes, Fail, err.Error(), "name each endpoint as METHOD and path: --endpoint \"GET /v1/positions\"")
	case len(eps) == 0:
		return newCheck(NameISVScopes, Skipped, "no endpoints named to check scopes for",
			"name the endpoints the bot calls: --endpoint \"GET /v1/positions\" (repeatable)")
	}
	tok, err := r.partnerToken(ctx)
	if err != nil {
		return newCheck(NameISVScopes, Skipped, "no partner access token to read scopes from (see isv token)", "")
	}
	var have, missing, unknown []string
	var need []string
	for _, ep := range eps {
		scope, known := isvkit.RequiredScope(ep.method, ep.path)
		switch {
		case !known:
			unknown = append(unknown, ep.String())
		case scope == "":
			have = append(have, ep.String()+" (no scope needed)")
		case isvkit.HasScope(tok, scope):
			have = append(have, ep.String()+" ("+scope+")")
		default:
			missing = append(missing, ep.String()+" needs "+scope)
			need = append(need, scope)
		}
	}
	var saw []string
	if len(missing) > 0 {
		saw = append(saw, "missing: "+strings.Join(missing, ", "))
	}
	if len(have) > 0 {
		saw = append(saw, "granted: "+strings.Join(have, ", "))
	}
	if len(unknown) > 0 {
		saw = append(saw, "not in the ISV authentication guide's scope table: "+strings.Join(unknown, ", "))
	}
	text := strings.Join(saw, "; ")
	switch {
	case len(missing) > 0:
		return newCheck(NameISVScopes, Fail, text+" (the API answers 403 permission denied: missing required scope)",
			fmt.Sprintf("ask Polymarket support to grant %s to client ID %s, then request a new token", strings.Join(need, " "), r.cfg.ISV.ClientID))
	case len(unknown) > 0:
		return newCheck(NameISVScopes, Warn, text, "check the method and path against the API reference")
	}
	return newCheck(NameISVScopes, OK, text, "")
}

// isvParticipant checks that account-scoped endpoints get a well-formed
// x-participant-id.
func (r *runner) isvParticipant(context.Context) Check {
	eps, _ := parseEndpoints(r.cfg.ISV.Endpoints)
	var scoped []string
	for _, ep := range eps {
		if ep.method != "GRPC" && isvkit.AccountScoped(ep.path) {
			scoped = append(scoped, ep.String())
		}
	}
	id := r.cfg.ISV.ParticipantID
	fix := "give --participant-id firms/<Firm>/users/<user> (e.g. firms/ISV-Participant-YourISV/users/your-user); a bot passes it to isv.Source.Transport"
	switch {
	case id != "" && !participantOK(id):
		return newCheck(NameISVParticipant, Fail, fmt.Sprintf("x-participant-id %q is not firms/<Firm>/users/<user>", id), fix)
	case len(scoped) > 0 && id == "":
		return newCheck(NameISVParticipant, Fail,
			strings.Join(scoped, ", ")+" act for an account and need the x-participant-id header, and none is given (the API answers 400 or 403)", fix)
	case len(scoped) > 0:
		return newCheck(NameISVParticipant, OK, fmt.Sprintf("x-participant-id %s for %s", id, strings.Join(scoped, ", ")), "")
	case id != "":
		return newCheck(NameISVParticipant, OK, fmt.Sprintf("x-participant-id %s is well formed (no account-scoped endpoint named)", id), "")
	}
	return newCheck(NameISVParticipant, Skipped, "no account-scoped endpoint named", "")
}

// participantOK reports whether id has the shape firms/<Firm>/users/<user>.
func participantOK(id string) bool {
	p := strings.Split(id, "/")
	return len(p) == 4 && p[0] == "firms" && p[2] == "users" && p[1] != "" && p[3] != "" &&
		!strings.ContainsAny(id, " \t\r\n")
}
