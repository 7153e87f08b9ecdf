package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// grpcServer is a real gRPC server over TLS whose interceptor accepts an
// RPC only with an authorization entry the local exchange authenticates.
type grpcServer struct {
	addr string
	pool *x509.CertPool

	mu   sync.Mutex
	seen []string // the authorization entries received, in order
}

// startGRPC serves the gRPC health service on 127.0.0.1 over TLS with a
// certificate made here. scheme is what the interceptor expects before the
// token ("" for the raw form).
func startGRPC(t *testing.T, ex *traderapitest.Server, scheme string) *grpcServer {
	t.Helper()
	cert, pool := selfSigned(t)
	g := &grpcServer{pool: pool}
	check := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		auth := md.Get("authorization")
		g.mu.Lock()
		g.seen = append(g.seen, strings.Join(auth, ","))
		g.mu.Unlock()
		if len(auth) != 1 || !strings.HasPrefix(auth[0], scheme) {
			return nil, status.Error(codes.Unauthenticated, "want one authorization entry with the expected scheme")
		}
		if _, err := ex.Authenticate(strings.TrimPrefix(auth[0], scheme)); err != nil {
			return nil, status.Error(codes.Unauthenticated, "the exchange does not know that token")
		}
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})), grpc.UnaryInterceptor(check))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	g.addr = lis.Addr().String()
	return g
}

func (g *grpcServer) received() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pmx-login test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// dial connects to g over TLS with creds as per-RPC credentials.
func (g *grpcServer) dial(t *testing.T, creds credentials.PerRPCCredentials) healthpb.HealthClient {
	t.Helper()
	tc := credentials.NewTLS(&tls.Config{RootCAs: g.pool, MinVersion: tls.VersionTLS12})
	cc, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(tc), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func check(t *testing.T, hc healthpb.HealthClient) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// TestPerRPCOverTLS: a real gRPC call over TLS carries the raw access token
// as its authorization metadata, and the server's interceptor (checking it
// against the exchange) lets it through.
func TestPerRPCOverTLS(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	g := startGRPC(t, f.srv, "")
	if err := check(t, g.dial(t, f.m.PerRPC())); err != nil {
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
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	g := startGRPC(t, f.srv, "Bearer ")
	if err := check(t, g.dial(t, f.m.PerRPC(session.WithScheme("Bearer")))); err != nil {
		t.Fatalf("Check: %v", err)
	}
	md, err := f.m.PerRPC(session.WithMetadata("X-Participant-Id", "firm-7")).GetRequestMetadata(t.Context())
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
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	cc, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(f.m.PerRPC()))
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
	f := setup(t, traderapitest.Options{}, session.Config{})
	first := f.login(t)
	g := startGRPC(t, f.srv, "")
	hc := g.dial(t, f.m.PerRPC())
	if err := check(t, hc); err != nil {
		t.Fatalf("first Check: %v", err)
	}
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	second, err := f.m.Token(t.Context())
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
	f := setup(t, traderapitest.Options{}, session.Config{})
	g := startGRPC(t, f.srv, "")
	err := check(t, g.dial(t, f.m.PerRPC()))
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), session.ErrNotLoggedIn.Error()) {
		t.Fatalf("Check without a session = %v, want Unauthenticated naming %q", err, session.ErrNotLoggedIn)
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("the server saw %d RPCs, want none", n)
	}
	if _, err := f.m.PerRPC().GetRequestMetadata(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Errorf("GetRequestMetadata = %v, want ErrNotLoggedIn", err)
	}
}

// TestPerRPCBadOption: an invalid option fails every RPC before a token is
// read, naming the option.
func TestPerRPCBadOption(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	for _, o := range []session.PerRPCOption{session.WithScheme("Bearer x"), session.WithMetadata("authorization", "x"), session.WithMetadata("", "x")} {
		if md, err := f.m.PerRPC(o).GetRequestMetadata(t.Context()); err == nil || md != nil {
			t.Errorf("a bad option gave metadata (%d entries) and err %v", len(md), err)
		}
	}
	if _, err := session.NewPerRPC(nil).GetRequestMetadata(t.Context()); err == nil {
		t.Error("NewPerRPC(nil) gave no error")
	}
}
