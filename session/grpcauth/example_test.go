package grpcauth_test

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/session/grpcauth"
)

// A gRPC bot dials with grpcauth.DialOptions(m.Token) and decides what to
// do about a failed call with Classify: a session that ended needs a
// person, a refused token or an unavailable server is retried later.
func ExampleClassify() {
	for _, err := range []error{
		status.Error(codes.Unauthenticated, "token refused"),
		status.Error(codes.Unavailable, "connection refused"),
	} {
		switch grpcauth.Classify(err) {
		case session.KindSessionEnded, session.KindNotLoggedIn:
			fmt.Println("alert a person: run `pmx-login login`")
		case session.KindRejected:
			fmt.Println("the server refused the token: retry once")
		case session.KindUnavailable, session.KindRateLimited:
			fmt.Println("retry later")
		}
	}
	// Output:
	// the server refused the token: retry once
	// retry later
}
