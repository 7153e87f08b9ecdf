package doctor

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi"
)

// isvState is what the ISV checks share within one run.
type isvState struct {
	keyDone bool
	key     *rsa.PrivateKey
	keyErr  error

	srcDone bool
	src     *isv.Source
	srcErr  error

	tokDone bool
	tok     traderapi.Secret
	tokErr  error
}

// loadKey loads the private key file, once per run.
func (r *runner) loadKey() (*rsa.PrivateKey, error) {
	st := &r.isv
	if !st.keyDone {
		st.keyDone = true
		if r.cfg.ISV.KeyFile == "" {
			st.keyErr = errors.New("no private key file given")
		} else {
			st.key, st.keyErr = isv.LoadPrivateKeyFile(r.cfg.ISV.KeyFile)
		}
	}
	return st.key, st.keyErr
}

// isvKey checks that the key file holds a usable RSA private key, kept
// private.
func (r *runner) isvKey(context.Context) Check {
	key, err := r.loadKey()
	switch {
	case r.cfg.ISV.KeyFile == "":
		return newCheck(NameISVKey, Fail, "no private key file given", "give the PEM private key file with --key PATH")
	case err != nil:
		return newCheck(NameISVKey, Fail, errText(err), "use the PEM RSA private key (PKCS#1 or PKCS#8) whose public half you registered; the message says how to convert this one")
	}
	saw := fmt.Sprintf("%s: RSA-%d private key, public thumbprint %s", r.cfg.ISV.KeyFile, key.N.BitLen(), isvkit.Thumbprint(&key.PublicKey))
	if fi, err := os.Stat(r.cfg.ISV.KeyFile); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return newCheck(NameISVKey, Warn, fmt.Sprintf("%s; the file's mode %v lets other users read it", saw, fi.Mode().Perm()),
			"chmod 600 "+r.cfg.ISV.KeyFile)
	}
	return newCheck(NameISVKey, OK, saw, "")
}

// isvPublicKey checks the private key against the registered public key.
func (r *runner) isvPublicKey(context.Context) Check {
	pubFile := r.cfg.ISV.PublicKeyFile
	if pubFile == "" {
		return newCheck(NameISVPublicKey, Skipped, "no public key file given to compare the private key with",
			"give the public key registered at onboarding with --public-key PATH")
	}
	key, err := r.loadKey()
	if err != nil {
		return newCheck(NameISVPublicKey, Skipped, "no usable private key (see isv key)", "")
	}
	data, err := os.ReadFile(pubFile)
	if err != nil {
		return newCheck(NameISVPublicKey, Fail, "reading the public key: "+err.Error(), "give the public key file registered at onboarding with --public-key PATH")
	}
	ok, err := isvkit.PublicKeyMatches(key, data)
	if err != nil {
		return newCheck(NameISVPublicKey, Fail, pubFile+": "+errText(err), "give the PEM public key (-----BEGIN PUBLIC KEY-----) registered at onboarding")
	}
	if !ok {
		pub, _ := isvkit.ParsePublicKeyPEM(data)
		return newCheck(NameISVPublicKey, Fail,
			fmt.Sprintf("the private key (thumbprint %s) is not the private half of %s (thumbprint %s): the token endpoint will answer invalid_client",
				isvkit.Thumbprint(&key.PublicKey), pubFile, isvkit.Thumbprint(pub)),
			"use the private key whose public half you registered for this environment; if it is lost, make a new pair and re-onboard its public key (openssl rsa -in private_key.pem -pubout -out public_key.pem)")
	}
	return newCheck(NameISVPublicKey, OK, fmt.Sprintf("the private key matches %s (thumbprint %s)", pubFile, isvkit.Thumbprint(&key.PublicKey)), "")
}

// source builds the partner token source, once per run.
func (r *runner) source() (*isv.Source, error) {
	st := &r.isv
	if st.srcDone {
		return st.src, st.srcErr
	}
	st.srcDone = true
	key, err := r.loadKey()
	if err != nil {
		st.srcErr = errors.New("no usable private key (see isv key)")
		return nil, st.srcErr
	}
	c := r.cfg.ISV
	ic := isv.Config{ClientID: c.ClientID, Key: key, AuthURL: c.AuthURL, Audience: c.Audience, HTTPClient: r.cfg.HTTPClient, Now: r.cfg.Now}
	if l := envLabel(r.cfg.Env); slices.Contains(traderapi.EnvironmentNames(), l) {
		ic.Environment = l
	}
	st.src, st.srcErr = isv.New(ic)
	return st.src, st.srcErr
}

// sourceCheck reports why there is no source, as the check called name.
func sourceCheck(name string, err error) Check {
	msg := errText(err)
	switch {
	case strings.Contains(msg, "ClientID"):
		return newCheck(name, Fail, "no client ID given", "give the client ID from onboarding (clientid.txt) with --client-id")
	case strings.Contains(msg, "AuthURL"), strings.Contains(msg, "Audience"), strings.Contains(msg, "TokenURL"):
		return newCheck(name, Fail, msg, "give --auth-url and --audience for an environment other than dev01, preprod and prod")
	case strings.Contains(msg, "see isv key"):
		return newCheck(name, Skipped, msg, "")
	}
	return newCheck(name, Fail, msg, "")
}

// isvAssertion lints the assertion this client would sign, and the
// partner's own assertion when one is given, against every rule of the ISV
// authentication and troubleshooting guides.
func (r *runner) isvAssertion(context.Context) Check {
	src, err := r.source()
	if err != nil {
		return sourceCheck(NameISVAssertion, err)
	}
	if saw, fix, bad := r.authURLMistake(src); bad {
		return newCheck(NameISVAssertion, Fail, saw, fix)
	}
	want := isvkit.Expectations{ClientID: r.cfg.ISV.ClientID, Audience: src.TokenURL(), APIAudience: src.Audience(), Now: r.cfg.Now()}
	if r.cfg.ISV.PublicKeyFile != "" {
		if data, err := os.ReadFile(r.cfg.ISV.PublicKeyFile); err == nil {
			want.PublicKey, _ = isvkit.ParsePublicKeyPEM(data) // nil when it does not parse: no signature check
		}
	}
	var problems []isvkit.Problem
	what := "the assertion this client signs"
	if own := r.cfg.ISV.Assertion; !own.IsZero() {
		what = "the given assertion"
		problems = isvkit.LintAssertion(own.Reveal(), want)
	} else {
		a, err := r.signAssertion(src)
		if err != nil {
			return newCheck(NameISVAssertion, Fail, "signing an assertion failed: "+errText(err), "")
		}
		problems = isvkit.LintAssertion(a, want)
	}
	if len(problems) == 0 {
		return newCheck(NameISVAssertion, OK, fmt.Sprintf("%s passes every rule: RS256; iss = sub = %s; aud = %s; exp ≤ iat + 300s; a UUID jti",
			what, r.cfg.ISV.ClientID, src.TokenURL()), "")
	}
	var saws, fixes []string
	for _, p := range problems {
		saws = append(saws, p.String())
		if f := ruleFixes[p.Rule]; f != "" && !slices.Contains(fixes, f) {
			fixes = append(fixes, f)
		}
	}
	return newCheck(NameISVAssertion, Fail, what+" breaks the token endpoint's rules (invalid_client_assertion): "+strings.Join(saws, "; "),
		strings.Join(fixes, "; "))
}

// ruleFixes say what to do about each rule an assertion breaks.
var ruleFixes = map[string]string{
	isvkit.RuleFormat:         "send the assertion as a compact JWT: three base64url parts, JSON header and claims",
	isvkit.RuleAlgorithm:      "sign with RS256 (not HS256, RS384, PS256 or none)",
	isvkit.RuleSignature:      "sign with the private key whose public half is registered for this client ID",
	isvkit.RuleMissingClaim:   "include all of iss, sub, aud, iat, exp and jti",
	isvkit.RuleIssuer:         "set iss and sub both to the client ID from clientid.txt",
	isvkit.RuleAudience:       "the assertion's aud must be the token endpoint https://{authDomain}/oauth/token, not the API URL",
	isvkit.RuleExpired:        "sign a fresh assertion for every token request, and synchronise the clock with NTP",
	isvkit.RuleLifetime:       "set exp at most 300 s after iat",
	isvkit.RuleIssuedInFuture: "synchronise the clock with NTP: iat is ahead of the real time",
	isvkit.RuleJTI:            "use a fresh random UUID as jti for every token request",
}

// authURLMistake spots an auth URL that is the API's, or another
// environment's: the assertion's aud would then be wrong however it is made.
func (r *runner) authURLMistake(src *isv.Source) (saw, fix string, bad bool) {
	label := envLabel(r.cfg.Env)
	env, err := isvkit.LookupEnvironment(label)
	if err != nil || r.cfg.ISV.AuthURL == "" {
		return "", "", false
	}
	u, err := url.Parse(src.TokenURL())
	if err != nil {
		return "", "", false
	}
	host := strings.ToLower(u.Hostname())
	fix = fmt.Sprintf("set --auth-url to https://%s (or leave it out for %s)", env.AuthDomain, label)
	switch {
	case strings.HasPrefix(host, "api.") || host == hostOf(src.Audience()):
		return fmt.Sprintf("the auth URL %s is the API's: the assertion's aud would be %s, not the token endpoint %s",
			r.cfg.ISV.AuthURL, src.TokenURL(), env.TokenURL()), fix, true
	case hostEnv(host) != "" && hostEnv(host) != label && strings.HasSuffix(host, ".auth0.com"):
		return fmt.Sprintf("the auth URL %s is %s's, but the selected environment is %s: each environment has its own keys and client ID",
			r.cfg.ISV.AuthURL, hostEnv(host), label), fix, true
	}
	return "", "", false
}

// signAssertion signs an assertion as src does for each token request:
// the same signer, claims and default lifetime.
func (r *runner) signAssertion(src *isv.Source) (string, error) {
	key, err := r.loadKey()
	if err != nil {
		return "", err
	}
	return isvkit.SignAssertion(key, isvkit.AssertionClaims{ClientID: r.cfg.ISV.ClientID, Audience: src.TokenURL(),
		IssuedAt: r.cfg.Now(), Lifetime: isvkit.DefaultAssertionLifetime, ID: uuid.NewString()})
}
