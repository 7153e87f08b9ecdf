package isv_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A partner bot: load the key, build a Source, call the API through its
// transport. Here the token service and the API are the local ones.
func Example() {
	key, err := isv.LoadPrivateKeyFile("testdata/client-pkcs8.pem")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	auth := traderapitest.NewAuthServer(traderapitest.AuthOptions{})
	auth.RegisterClient("my-client-id", &key.PublicKey, []string{"read:positions"})
	authSrv := httptest.NewServer(auth)
	defer authSrv.Close()
	apiSrv := httptest.NewServer(traderapitest.NewAPIServer(auth))
	defer apiSrv.Close()

	src, err := isv.New(isv.Config{
		ClientID: "my-client-id",
		Key:      key,
		AuthURL:  authSrv.URL,     // in production: Environment: "preprod", and nothing else
		Audience: auth.Audience(), // https://api.preprod.polymarketexchange.com
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer src.Close()

	client := &http.Client{Transport: src.Transport(nil, "firms/ISV-Participant-Acme/users/alice")}
	req, _ := http.NewRequestWithContext(context.Background(), "GET", apiSrv.URL+"/v1/positions", nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	// whoami needs read:accounts, which this client lacks.
	req, _ = http.NewRequestWithContext(context.Background(), "GET", apiSrv.URL+"/v1/whoami", nil)
	resp, err = client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer resp.Body.Close()
	var se *isv.ScopeError
	if errors.As(isv.CheckResponse(resp), &se) {
		fmt.Println(resp.StatusCode, "missing scope:", se.Scope)
	}
	// Output:
	// 200 {"participantId":"firms/ISV-Participant-Acme/users/alice","positions":[]}
	// 403 missing scope: read:accounts
}
