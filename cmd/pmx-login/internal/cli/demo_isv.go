package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// demoParticipant is the x-participant-id of the demo's ISV calls.
const demoParticipant = "firms/ISV-Participant-Demo/users/bot"

// demoISV is the ISV half of the demo: a local token service and partner
// API, a key pair made for the run and a Source built on them.
type demoISV struct {
	auth     *traderapitest.AuthServer
	api      *traderapitest.APIServer
	authSrv  *httptest.Server
	apiSrv   *httptest.Server
	src      *isv.Source
	keyThumb string
}

// isvSteps are the ISV steps of the demo, run after the trader's.
func (d *demo) isvSteps() []demoStep {
	return []demoStep{
		{"isv keygen", d.isvKeygen},
		{"isv token", d.isvToken},
		{"isv api call", d.isvCall},
	}
}

func (d *demo) isvKeygen(context.Context) (string, error) {
	x := &demoISV{auth: traderapitest.NewAuthServer(traderapitest.AuthOptions{})}
	x.api = traderapitest.NewAPIServer(x.auth)
	x.authSrv, x.apiSrv = httptest.NewServer(x.auth), httptest.NewServer(x.api)
	d.isv = x
	key, err := isvkit.GenerateKey(2048)
	if err != nil {
		return "", err
	}
	x.auth.RegisterClient(sandboxClientID, &key.PublicKey, sandboxScopes)
	x.keyThumb = isvkit.Thumbprint(&key.PublicKey)
	x.src, err = isv.New(isv.Config{ClientID: sandboxClientID, Key: key, AuthURL: x.authSrv.URL,
		Audience: x.auth.Audience(), APIURL: x.apiSrv.URL, Now: d.o.io.Now, HTTPClient: x.authSrv.Client()})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("an RSA-2048 key pair (thumbprint %s…); its public key registered for client %q, as onboarding does",
		x.keyThumb[:8], sandboxClientID), nil
}

func (d *demo) isvToken(ctx context.Context) (string, error) {
	tok, err := d.isv.src.Token(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s from the token service for a signed client assertion (Private Key JWT); scopes: %s",
		tok.Prefix(6), d.isv.src.Scope()), nil
}

func (d *demo) isvCall(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.isv.apiSrv.URL+"/v1/positions", nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: d.isv.src.Transport(d.isv.apiSrv.Client().Transport, demoParticipant)}).Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /v1/positions answered %s", resp.Status)
	}
	return "GET /v1/positions answered " + resp.Status + " with the Bearer token and x-participant-id, through isv.Source.Transport", nil
}

// close stops the ISV servers.
func (x *demoISV) close() {
	if x == nil {
		return
	}
	if x.src != nil {
		_ = x.src.Close()
	}
	x.authSrv.Close()
	x.apiSrv.Close()
}
