package isv

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// perRPCCredentials is google.golang.org/grpc/credentials.PerRPCCredentials,
// method for method.
type perRPCCredentials interface {
	GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error)
	RequireTransportSecurity() bool
}

func TestPerRPCCredentials(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	var creds perRPCCredentials = src.PerRPC(testParticipant)
	md, err := creds.GetRequestMetadata(t.Context(), "https://grpc-api.preprod.polymarketexchange.com")
	if err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, src)
	if md["authorization"] != "Bearer "+tok.Reveal() || md["x-participant-id"] != testParticipant || len(md) != 2 {
		t.Fatalf("metadata keys %v are not authorization and x-participant-id with the token", len(md))
	}
	if !creds.RequireTransportSecurity() {
		t.Fatal("RequireTransportSecurity is false")
	}
	md, _ = src.PerRPC("").GetRequestMetadata(t.Context())
	if _, ok := md["x-participant-id"]; ok || len(md) != 1 {
		t.Fatal("x-participant-id sent without a participant")
	}
}

func TestOAuth2TokenSourceHasTheRealExpiry(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{TokenTTL: 60 * time.Second})
	src := tb.source(t)
	before := time.Now()
	var ts oauth2.TokenSource = src.OAuth2()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.AccessToken != mustToken(t, src).Reveal() {
		t.Fatal("wrong token")
	}
	if tok.Expiry.Before(before.Add(59*time.Second)) || tok.Expiry.After(time.Now().Add(61*time.Second)) {
		t.Fatalf("Expiry = %s, want 60 s from now (not 180)", tok.Expiry)
	}
	// It plugs into oauth2's own transport.
	c := &http.Client{Transport: &oauth2.Transport{Source: ts}}
	resp, _ := do(t, c, "GET", tb.apiURL+"/v1/whoami", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("whoami through oauth2.Transport: %d", resp.StatusCode)
	}
}
