package grpcauth_test

import (
	"context"
	"crypto/tls"
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/grpcauth"
	"github.com/pmx-login/pmx-login/traderapi"
)

// A bot calling a gRPC service with the trader's session: every RPC carries
// the current access token as "authorization: <token>" (add
// grpcauth.WithScheme("Bearer") for a gateway that wants the Bearer form),
// and a call without a token fails before it is sent, with the session's
// error. gRPC refuses these credentials on a connection without TLS.
func ExampleDialOptions() {
	ctx := context.Background()
	env, err := traderapi.LookupEnvironment("prod")
	if err != nil {
		log.Fatal(err)
	}
	client, err := traderapi.NewClient(env)
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client, Store: keyring.New()})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Resume(ctx); err != nil {
		log.Fatal(err) // session.Classify(err) == session.KindNotLoggedIn: run `pmx-login login`
	}
	m.Start(ctx)

	tc := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	cc, err := grpc.NewClient("grpc.example.invalid:443",
		append(grpcauth.DialOptions(m.Token), grpc.WithTransportCredentials(tc))...)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		log.Print(err, grpcauth.Classify(err))
	}
}
