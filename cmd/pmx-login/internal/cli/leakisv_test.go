package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// isvClientID is the client ID the audit's token service knows.
const isvClientID = "leak-audit-client"

// startISV starts a recorded ISV token service for the scenario.
func (s *leakScenario) startISV() (*traderapitest.AuthServer, string) {
	s.t.Helper()
	auth := traderapitest.NewAuthServer(traderapitest.AuthOptions{})
	s.auth = &recorder{}
	srv := httptest.NewServer(s.auth.wrap(auth))
	s.t.Cleanup(srv.Close)
	return auth, srv.URL
}

// recorders returns the recorders of the scenario's servers.
func (s *leakScenario) recorders() []*recorder {
	if s.auth == nil {
		return []*recorder{s.ex.recorder}
	}
	return []*recorder{s.ex.recorder, s.auth}
}

// leakFlowISV runs the ISV partner commands, and doctor with ISV
// credentials, in success and failure, and returns the private key's PEM
// body lines as secrets. The private key file itself may hold them.
func leakFlowISV(s *leakScenario) map[string]secretKind {
	t := s.t
	auth, authURL := s.startISV()
	name := filepath.Join("cwd", "acme_preprod")
	s.keyFile = name + "_private_key.pem"
	out := filepath.Join(s.work, name)
	s.run(leakStep{cmd: "isv keygen", args: []string{"--out", out}})
	s.run(leakStep{cmd: "isv keygen", args: []string{"--out", out}, code: exitUsage}) // never overwrites
	keyPath := filepath.Join(s.work, s.keyFile)
	key, err := isv.LoadPrivateKeyFile(keyPath)
	if err != nil {
		t.Fatalf("isv keygen wrote no usable key: %v", err)
	}
	auth.RegisterClient(isvClientID, &key.PublicKey, []string{"read:accounts", "read:marketdata"})
	flags := []string{"--key", keyPath, "--auth-url", authURL, "--audience", traderapitest.DefaultISVAudience}
	good := append([]string{"--client-id", isvClientID}, flags...)
	bad := append([]string{"--client-id", "unknown-client"}, flags...)

	s.run(leakStep{cmd: "isv token", args: good, allowOut: []secretKind{kindAccess}})
	s.run(leakStep{cmd: "isv token", args: bad, code: exitRejected})
	auth.FailNext(100, 503)
	s.run(leakStep{cmd: "isv token", args: good, code: exitUnreachable})
	auth.FailNext(0, 0)
	s.run(leakStep{cmd: "isv status", args: good})
	s.run(leakStep{cmd: "isv status", args: bad, code: exitRejected})
	pub := filepath.Join(s.work, name+"_public_key.pem")
	s.run(leakStep{cmd: "doctor", args: append([]string{"--public-key", pub}, good...)})
	s.run(leakStep{cmd: "doctor", args: append([]string{"--public-key", pub}, bad...), code: exitFailure})

	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if s.audit.public, err = os.ReadFile(pub); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]secretKind{}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			secrets[line] = kindPrivateKey
		}
	}
	if len(secrets) < 20 {
		t.Fatalf("the private key has %d PEM body lines: not a 2048-bit key", len(secrets))
	}
	return secrets
}
