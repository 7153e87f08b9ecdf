package isv

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pmx-login/pmx-login/session/grpcauth"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestGRPCCredentials: the ISV source through grpcauth sends Bearer and,
// when given, the participant.
func TestGRPCCredentials(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	src := tb.source(t)
	creds := grpcauth.PerRPC(src.Token, grpcauth.WithScheme("Bearer"), grpcauth.WithMetadata(ParticipantHeader, testParticipant))
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
