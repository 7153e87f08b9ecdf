package grpcauth_test

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
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/grpcauth"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// server is a real grpc-go server over TLS that serves the health service.
// It records the authorization entries it receives and answers
// Unauthenticated to a call without exactly one that starts with scheme
// and, when ex is set, names a token the local exchange issued.
type server struct {
	addr  string
	pool  *x509.CertPool
	calls atomic.Int64 // calls that reached the server

	mu   sync.Mutex
	seen []string
}

func newServer(t *testing.T) *server { return newCheckingServer(t, nil, "") }

func newCheckingServer(t *testing.T, ex *traderapitest.Server, scheme string) *server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &server{pool: pool}
	check := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		s.calls.Add(1)
		md, _ := metadata.FromIncomingContext(ctx)
		auth := md.Get("authorization")
		s.mu.Lock()
		s.seen = append(s.seen, strings.Join(auth, ","))
		s.mu.Unlock()
		if len(auth) != 1 || auth[0] == "" || !strings.HasPrefix(auth[0], scheme) {
			return nil, status.Error(codes.Unauthenticated, "want one authorization entry with the expected scheme")
		}
		if ex != nil {
			if _, err := ex.Authenticate(strings.TrimPrefix(auth[0], scheme)); err != nil {
				return nil, status.Error(codes.Unauthenticated, "the exchange does not know that token")
			}
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
	s.addr = lis.Addr().String()
	return s
}

// received returns the authorization entries the server saw, in order.
func (s *server) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// dial connects to s over TLS with grpcauth.DialOptions(token, opts...).
func (s *server) dial(t *testing.T, token grpcauth.TokenFunc, opts ...grpcauth.Option) healthpb.HealthClient {
	t.Helper()
	return s.dialWith(t, grpcauth.DialOptions(token, opts...)...)
}

// dialWith connects to s over TLS with the given dial options.
func (s *server) dialWith(t *testing.T, dopts ...grpc.DialOption) healthpb.HealthClient {
	t.Helper()
	tc := credentials.NewTLS(&tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12})
	cc, err := grpc.NewClient(s.addr, append(dopts, grpc.WithTransportCredentials(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// loggedIn returns a manager logged in to a local exchange.
func loggedIn(t *testing.T) (*session.Manager, *traderapitest.Server) {
	t.Helper()
	m, ex := loggedOut(t)
	if err := m.Login(t.Context(), "trader1", "correct-horse-42-battery", ""); err != nil {
		t.Fatal(err)
	}
	return m, ex
}

// loggedOut returns a manager of a local exchange that knows trader1, not
// logged in.
func loggedOut(t *testing.T) (*session.Manager, *traderapitest.Server) {
	t.Helper()
	ex := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(ex.Close)
	if err := ex.AddUser("trader1", "correct-horse-42-battery"); err != nil {
		t.Fatal(err)
	}
	client, err := traderapi.NewClient(ex.Environment())
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, ex
}

// TestRevokedSessionIsTold: after the exchange rejects the refresh token,
// a call fails before it is sent, and the caller can tell that the session
// ended: by the gRPC code, by errors.Is and by Classify.
func TestRevokedSessionIsTold(t *testing.T) {
	m, ex := loggedIn(t)
	srv := newServer(t)
	hc := srv.dial(t, m.Token)
	if _, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("call with a valid session: %v", err)
	}
	ex.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 401}) // the exchange's own rejection
	_ = m.Refresh(t.Context())
	before := srv.calls.Load()
	_, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
	switch {
	case status.Code(err) != codes.Unauthenticated:
		t.Errorf("code = %v, want Unauthenticated (%v)", status.Code(err), err)
	case !errors.Is(err, session.ErrSessionExpired):
		t.Errorf("errors.Is(err, ErrSessionExpired) = false: %v", err)
	case grpcauth.Classify(err) != session.KindSessionEnded:
		t.Errorf("Classify = %v, want session ended", grpcauth.Classify(err))
	case srv.calls.Load() != before:
		t.Errorf("the call reached the server")
	}
}

// TestServerStatusesClassify: a status the server gives is classified by
// its code.
func TestServerStatusesClassify(t *testing.T) {
	m, _ := loggedIn(t)
	srv := newServer(t)
	hc := srv.dial(t, m.Token)
	if _, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "unknown"}); grpcauth.Classify(err) != session.KindOther {
		t.Errorf("NotFound from the server: Classify = %v (%v), want other", grpcauth.Classify(err), err)
	}
	cases := map[codes.Code]session.Kind{codes.Unauthenticated: session.KindRejected, codes.Unavailable: session.KindUnavailable,
		codes.ResourceExhausted: session.KindRateLimited, codes.PermissionDenied: session.KindForbidden, codes.OK: session.KindNone}
	for c, want := range cases {
		if got := grpcauth.Classify(status.Error(c, "x")); got != want {
			t.Errorf("Classify(%v) = %v, want %v", c, got, want)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); grpcauth.Classify(err) != session.KindCanceled {
		t.Errorf("canceled call: Classify = %v (%v)", grpcauth.Classify(err), err)
	}
}
