package doctor

import (
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestReachabilityOK(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	want(t, check(t, tb.config(), (*runner).reachability), OK, "HTTP 400 Bad Request from POST /auth/v1beta1/check_password with Host "+tb.ex.Host(), "")
}

func TestReachabilityHostOverrideMissing(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	cfg := tb.config()
	cfg.Env.Host = "" // the URL's host, 127.0.0.1:port, is sent
	c := check(t, cfg, (*runner).reachability)
	want(t, c, Fail, "HTTP 421 Misdirected Request", "the Host override is missing or wrong: give the environment's REST host with --host")
	want(t, c, Fail, "no Host override was given", "")

	cfg.Env.Host = "rest.prod.polymarketexchange.com" // the wrong one
	want(t, check(t, cfg, (*runner).reachability), Fail, "with Host rest.prod.polymarketexchange.com", "--host (PMX_HOST)")
}

func TestReachabilityLoadBalancer404(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	tb.ex.InjectFault(traderapi.PathCheckPassword, traderapitest.Fault{Status: http.StatusNotFound, HTML: true})
	want(t, check(t, tb.config(), (*runner).reachability), Fail, "a load balancer's page", "the Host override is missing or wrong")
}

func TestReachabilityUnavailable(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.Options{})
	tb.ex.InjectFault(traderapi.PathCheckPassword, traderapitest.Fault{Status: http.StatusServiceUnavailable})
	cfg := tb.config()
	want(t, check(t, cfg, (*runner).reachability), Fail, "HTTP 503", "try again in a few minutes")
	// The clock can still be read from the 503's Date header.
	want(t, check(t, cfg, (*runner).clockSkew), OK, "agrees", "")
}

func TestReachabilityUnreachableHost(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := Config{Env: traderapi.Environment{Name: "sandbox", BaseURL: "http://" + addr, Host: traderapitest.DefaultHost}, Timeout: 5 * time.Second}
	want(t, check(t, cfg, (*runner).reachability), Fail, "TCP connect failed", "check --base-url (PMX_BASE_URL), your VPN or private link")
	want(t, check(t, cfg, (*runner).clockSkew), Skipped, "no answer from the exchange", "")
}

func TestReachabilityDNS(t *testing.T) {
	t.Parallel()
	// .invalid never resolves (RFC 6761).
	cfg := Config{Env: traderapi.Environment{Name: "sandbox", BaseURL: "https://traderapi.doctor-test.invalid"}, Timeout: 5 * time.Second}
	want(t, check(t, cfg, (*runner).reachability), Fail, "DNS lookup failed", "private-link names resolve only inside your VPC or VPN")
}

func TestReachabilityBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "traderapi.example.com", "ftp://x", "https://"} {
		cfg := Config{Env: traderapi.Environment{Name: "sandbox", BaseURL: u}}
		want(t, check(t, cfg, (*runner).reachability), Fail, "is not an http(s) URL with a host", "give --base-url (PMX_BASE_URL) as https://host")
	}
}

func TestReachabilityTLS(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewTLSServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	env := srv.Environment()

	// The default client does not trust the test certificate.
	cfg := Config{Env: env, HTTPClient: &http.Client{}, Timeout: 5 * time.Second}
	want(t, check(t, cfg, (*runner).reachability), Fail, "TCP 127.0.0.1", "add its CA to the system's trust store")
	want(t, check(t, cfg, (*runner).reachability), Fail, "the certificate is signed by an unknown authority", "")

	// A client that trusts it gets through, TLS version named.
	cfg.HTTPClient = srv.HTTPClient()
	want(t, check(t, cfg, (*runner).reachability), OK, "ok, TLS 1.3 ok; HTTP 400", "")

	// A name the certificate does not cover.
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Env.BaseURL = "https://localhost:" + u.Port()
	want(t, check(t, cfg, (*runner).reachability), Fail, "TLS: x509: certificate is valid for", "dial a name the certificate covers")
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		skew   time.Duration
		status Status
		saw    string
		fix    string
	}{
		{"in sync", 0, OK, "agrees with the exchange's Date header", ""},
		{"10s is fine", 10 * time.Second, OK, "behind the exchange's", ""},
		{"local clock behind by 45s", 45 * time.Second, Warn, "behind the exchange's", "synchronise the clock with NTP"},
		{"local clock ahead by 2m", -2 * time.Minute, Warn, "ahead of the exchange's", "timedatectl set-ntp true"},
		{"past the assertion window", 10 * time.Minute, Fail, "behind the exchange's", "synchronise the clock with NTP"},
		{"far ahead", -2 * time.Hour, Fail, "past the 300s a client assertion may live", "w32tm /resync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, traderapitest.Options{})
			tb.ex.Advance(tc.skew) // the exchange's clock, and so its Date header
			c := check(t, tb.config(), (*runner).clockSkew)
			want(t, c, tc.status, tc.saw, tc.fix)
		})
	}
}

// The skew's arithmetic, on a probe answer made up to the millisecond: Date
// is cut to whole seconds, and the answer takes time to arrive.
func TestClockSkewArithmetic(t *testing.T) {
	t.Parallel()
	arrived := time.Date(2025, 1, 15, 10, 0, 0, 300e6, time.UTC) // 10:00:00.3
	for _, tc := range []struct {
		date   time.Time
		status Status
		saw    string
	}{
		{arrived.Truncate(time.Second), OK, "agrees"},
		{time.Date(2025, 1, 15, 10, 0, 10, 0, time.UTC), OK, "is 10s behind the exchange's (Date: Wed, 15 Jan 2025 10:00:10 UTC)"},
		{time.Date(2025, 1, 15, 10, 0, 31, 0, time.UTC), Warn, "is 31s behind"},
		{time.Date(2025, 1, 15, 9, 58, 0, 0, time.UTC), Warn, "is 2m0s ahead of"},
		{time.Date(2025, 1, 15, 10, 5, 0, 0, time.UTC), Warn, "is 5m0s behind"}, // 300 s: still inside the window
		{time.Date(2025, 1, 15, 10, 5, 2, 0, time.UTC), Fail, "is 5m2s behind"},
	} {
		r := newRunner(Config{})
		r.probed, r.probe = true, probeResult{date: tc.date, arrived: arrived}
		want(t, r.clockSkew(t.Context()), tc.status, tc.saw, "")
	}
}

func TestClockSkewWithoutDate(t *testing.T) {
	t.Parallel()
	// A Date the server suppresses is reported as skipped.
	ex := traderapitest.New(traderapitest.Options{})
	srv := newServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		ex.ServeHTTP(noDate{w}, r)
	})
	cfg := Config{Env: traderapi.Environment{Name: "sandbox", BaseURL: srv.URL, Host: ex.Host()}, Timeout: 5 * time.Second}
	want(t, check(t, cfg, (*runner).reachability), OK, "HTTP 400", "")
	want(t, check(t, cfg, (*runner).clockSkew), Skipped, "no Date header", "")
}

// noDate drops the Date header as the response is written; a nil Date
// entry makes net/http send none.
type noDate struct{ http.ResponseWriter }

func (w noDate) WriteHeader(code int) {
	w.Header()["Date"] = nil
	w.ResponseWriter.WriteHeader(code)
}

func (w noDate) Write(b []byte) (int, error) {
	w.Header()["Date"] = nil
	return w.ResponseWriter.Write(b)
}
