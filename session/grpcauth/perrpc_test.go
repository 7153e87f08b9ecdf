package grpcauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/grpcauth"
	"github.com/pmx-login/pmx-login/traderapi"
)

func check(t *testing.T, hc healthpb.HealthClient) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func token(t *testing.T, m *session.Manager) traderapi.Secret {
	t.Helper()
	tok, err := m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPerRPCOverTLS: a real gRPC call over TLS carries the raw access token
// as its authorization metadata, and the server's interceptor (checking it
// against the exchange) lets it through.
func TestPerRPCOverTLS(t *testing.T) {
	t.Parallel()
	m, ex := loggedIn(t)
	tok := token(t, m)
	g := newCheckingServer(t, ex, "")
	if err := check(t, g.dialWith(t, grpc.WithPerRPCCredentials(grpcauth.PerRPC(m.Token)))); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := g.received(); len(got) != 1 || got[0] != tok.Reveal() {
		t.Fatalf("authorization entries = %d %v, want the raw token once", len(got), len(got) == 1 && got[0] == tok.Reveal())
	}
}

// TestPerRPCBearerScheme: WithScheme("Bearer") sends "Bearer <token>", and
// WithMetadata adds its entry.
func TestPerRPCBearerScheme(t *testing.T) {
	t.Parallel()
	m, ex := loggedIn(t)
	tok := token(t, m)
	g := newCheckingServer(t, ex, "Bearer ")
	if err := check(t, g.dialWith(t, grpc.WithPerRPCCredentials(grpcauth.PerRPC(m.Token, grpcauth.WithScheme("Bearer"))))); err != nil {
		t.Fatalf("Check: %v", err)
	}
	md, err := grpcauth.PerRPC(m.Token, grpcauth.WithMetadata("X-Participant-Id", "firm-7")).GetRequestMetadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if md["x-participant-id"] != "firm-7" || md["authorization"] != tok.Reveal() || len(md) != 2 {
		t.Errorf("metadata keys = %d, participant %q, raw token %v", len(md), md["x-participant-id"], md["authorization"] == tok.Reveal())
	}
}

// TestPerRPCPlaintextRefused: grpc-go refuses at dial to put credentials
// that require transport security on a connection without TLS.
func TestPerRPCPlaintextRefused(t *testing.T) {
	t.Parallel()
	m, _ := loggedIn(t)
	cc, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(grpcauth.PerRPC(m.Token)))
	if err == nil {
		_ = cc.Close()
		t.Fatal("grpc.NewClient over plaintext with PerRPC credentials succeeded")
	}
	if !strings.Contains(err.Error(), "transport") {
		t.Errorf("dial error = %v, want grpc's transport-security refusal", err)
	}
}

// TestPerRPCPicksUpRefresh: each RPC reads the current token, so one made
// after a refresh carries the new token.
func TestPerRPCPicksUpRefresh(t *testing.T) {
	t.Parallel()
	m, ex := loggedIn(t)
	first := token(t, m)
	g := newCheckingServer(t, ex, "")
	hc := g.dialWith(t, grpc.WithPerRPCCredentials(grpcauth.PerRPC(m.Token)))
	if err := check(t, hc); err != nil {
		t.Fatalf("first Check: %v", err)
	}
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	second, err := m.Token(t.Context())
	if err != nil || second == first {
		t.Fatalf("Token after Refresh: new token %v, err %v", second != first, err)
	}
	if err := check(t, hc); err != nil {
		t.Fatalf("second Check: %v", err)
	}
	got := g.received()
	if len(got) != 2 || got[0] != first.Reveal() || got[1] != second.Reveal() {
		t.Fatalf("the two RPCs carried [first, second] = %v", len(got) == 2 && got[0] == first.Reveal() && got[1] == second.Reveal())
	}
}

// TestPerRPCSessionEnded: with no session, the RPC fails before it is sent,
// with code Unauthenticated and a message naming why.
func TestPerRPCSessionEnded(t *testing.T) {
	t.Parallel()
	m, ex := loggedOut(t)
	g := newCheckingServer(t, ex, "")
	err := check(t, g.dialWith(t, grpc.WithPerRPCCredentials(grpcauth.PerRPC(m.Token))))
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), session.ErrNotLoggedIn.Error()) {
		t.Fatalf("Check without a session = %v, want Unauthenticated naming %q", err, session.ErrNotLoggedIn)
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("the server saw %d RPCs, want none", n)
	}
	if _, err := grpcauth.PerRPC(m.Token).GetRequestMetadata(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Errorf("GetRequestMetadata = %v, want ErrNotLoggedIn", err)
	}
}

// TestPerRPCBadOption: an invalid option fails every RPC before a token is
// read, naming the option.
func TestPerRPCBadOption(t *testing.T) {
	t.Parallel()
	m, _ := loggedIn(t)
	for _, o := range []grpcauth.Option{grpcauth.WithScheme("Bearer x"), grpcauth.WithMetadata("authorization", "x"), grpcauth.WithMetadata("", "x")} {
		if md, err := grpcauth.PerRPC(m.Token, o).GetRequestMetadata(t.Context()); err == nil || md != nil {
			t.Errorf("a bad option gave metadata (%d entries) and err %v", len(md), err)
		}
	}
	if _, err := grpcauth.PerRPC(nil).GetRequestMetadata(t.Context()); err == nil {
		t.Error("PerRPC(nil) gave no error")
	}
}
