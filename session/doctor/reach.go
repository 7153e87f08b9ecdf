package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// Stages of the reachability probe, named in its report.
const (
	stageURL  = "URL"
	stageDNS  = "DNS"
	stageTCP  = "TCP"
	stageTLS  = "TLS"
	stageHTTP = "HTTP"
)

// probeResult is what the probe of the base URL found.
type probeResult struct {
	failed  string // the stage that failed, "" if the exchange answered
	err     error
	steps   []string // what succeeded, for the report
	host    string   // the Host header sent
	status  int
	html    bool
	date    time.Time // the Date header, zero if absent
	arrived time.Time // the local time the answer arrived
}

// probePath is the harmless request of the probe: a password check with no
// password, which the exchange refuses with a 400 without looking anything up.
const probePath = traderapi.PathCheckPassword

// runProbe walks DNS, TCP, TLS and HTTP to the base URL, once per run.
func (r *runner) runProbe(ctx context.Context) *probeResult {
	if r.probed {
		return &r.probe
	}
	r.probed = true
	p := &r.probe
	env := r.cfg.Env
	u, err := url.Parse(env.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		p.failed, p.err = stageURL, fmt.Errorf("base URL %q is not an http(s) URL with a host", env.BaseURL)
		return p
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	if net.ParseIP(host) == nil {
		sctx, cancel := r.step(ctx)
		addrs, err := r.cfg.Resolver.LookupHost(sctx, host)
		cancel()
		if err != nil {
			p.failed, p.err = stageDNS, err
			return p
		}
		p.steps = append(p.steps, fmt.Sprintf("DNS %s → %s", host, strings.Join(addrs[:min(len(addrs), 2)], ", ")))
	}
	sctx, cancel := r.step(ctx)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(sctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		p.failed, p.err = stageTCP, err
		return p
	}
	p.steps = append(p.steps, "TCP "+net.JoinHostPort(host, port))
	if u.Scheme == "https" {
		tc := tls.Client(conn, r.tlsConfig(host))
		if err := tc.HandshakeContext(sctx); err != nil {
			conn.Close()
			p.failed, p.err = stageTLS, err
			return p
		}
		p.steps = append(p.steps, tls.VersionName(tc.ConnectionState().Version)) // "TLS 1.3"
	}
	conn.Close()
	r.probeHTTP(ctx, p)
	return p
}

// tlsConfig is the HTTP client's TLS configuration (its trusted roots),
// verifying the dialled name as the client does.
func (r *runner) tlsConfig(host string) *tls.Config {
	var c *tls.Config
	if t, ok := r.cfg.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		c = t.TLSClientConfig.Clone()
	} else if r.cfg.HTTPClient.Transport == nil {
		if t, ok := http.DefaultTransport.(*http.Transport); ok && t.TLSClientConfig != nil {
			c = t.TLSClientConfig.Clone()
		}
	}
	if c == nil {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	return c
}

// probeHTTP sends the probe request with the Host override.
func (r *runner) probeHTTP(ctx context.Context, p *probeResult) {
	sctx, cancel := r.step(ctx)
	defer cancel()
	env := r.cfg.Env
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, strings.TrimRight(env.BaseURL, "/")+probePath, strings.NewReader("{}"))
	if err != nil {
		p.failed, p.err = stageHTTP, err
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", traderapi.DefaultUserAgent+" doctor")
	if env.Host != "" {
		req.Host = env.Host
	}
	p.host = req.Host
	if p.host == "" {
		p.host = req.URL.Host
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		p.failed, p.err = stageHTTP, err
		return
	}
	defer resp.Body.Close()
	p.arrived = r.cfg.Now()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	p.status = resp.StatusCode
	p.html = strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "html") ||
		strings.HasPrefix(strings.TrimSpace(string(head)), "<")
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		p.date = d
	}
}

// reachability reports the probe: which stage failed, or that the exchange
// answered with the Host sent.
func (r *runner) reachability(ctx context.Context) Check {
	p := r.runProbe(ctx)
	env := r.cfg.Env
	hostFix := "give the environment's REST host with --host (PMX_HOST), e.g. rest.preprod.polymarketexchange.com"
	switch p.failed {
	case stageURL:
		return newCheck(NameReachability, Fail, p.err.Error(),
			"give --base-url (PMX_BASE_URL) as https://host, e.g. https://traderapi.us-east-1.privatelink.preprod.polymarketexchange.com")
	case stageDNS:
		return newCheck(NameReachability, Fail, "DNS lookup failed: "+p.err.Error(),
			"check the host name of --base-url (PMX_BASE_URL); private-link names resolve only inside your VPC or VPN")
	case stageTCP:
		return newCheck(NameReachability, Fail, joinSteps(p.steps, "TCP connect failed: "+p.err.Error()),
			"check --base-url (PMX_BASE_URL), your VPN or private link, and firewalls between you and the exchange")
	case stageTLS:
		saw, fix := describeTLS(p.err)
		return newCheck(NameReachability, Fail, joinSteps(p.steps, saw), fix)
	case stageHTTP:
		return newCheck(NameReachability, Fail, joinSteps(p.steps, "HTTP request failed: "+p.err.Error()),
			"the server accepted the connection but did not answer: check --base-url and any proxy (HTTPS_PROXY)")
	}
	saw := joinSteps(p.steps, fmt.Sprintf("HTTP %d %s from POST %s with Host %s",
		p.status, http.StatusText(p.status), probePath, p.host))
	noOverride := ""
	if env.Host == "" {
		noOverride = " (no Host override was given, so the base URL's host was sent)"
	}
	switch {
	case p.status == http.StatusMisdirectedRequest:
		return newCheck(NameReachability, Fail, saw+": the server does not serve that Host"+noOverride,
			"the Host override is missing or wrong: "+hostFix)
	case p.status == http.StatusNotFound && p.html:
		return newCheck(NameReachability, Fail, saw+": a load balancer's page, not the exchange"+noOverride,
			"the Host override is missing or wrong: "+hostFix+"; and check --base-url")
	case p.status == http.StatusNotFound:
		return newCheck(NameReachability, Fail, saw+": the auth endpoints are not there",
			"check that --base-url is the trader API's private-link URL and --host its REST host")
	case p.status >= 500:
		return newCheck(NameReachability, Fail, saw+": the exchange is unavailable",
			"try again in a few minutes; if it persists, contact support")
	case p.status == http.StatusForbidden:
		return newCheck(NameReachability, Warn, saw+": refused before any authentication",
			"ask support whether your IP address is allowlisted")
	case p.status >= 300 && p.status < 400:
		return newCheck(NameReachability, Warn, saw+": a redirect, not the exchange's answer",
			"check --base-url: it should be the private-link URL itself")
	}
	return newCheck(NameReachability, OK, saw+": the exchange answered", "")
}

// joinSteps prefixes what succeeded to what happened last.
func joinSteps(steps []string, last string) string {
	if len(steps) == 0 {
		return last
	}
	return strings.Join(steps, " ok, ") + " ok; " + last
}

// describeTLS names a handshake failure and its fix.
func describeTLS(err error) (saw, fix string) {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "TLS: the certificate is signed by an unknown authority",
			"if a proxy inspects TLS, add its CA to the system's trust store; never turn verification off"
	case errors.As(err, &hostname):
		return "TLS: " + hostname.Error(),
			"dial a name the certificate covers (--base-url), or set the TLS server name (traderapi.WithTLSServerName) to a name it covers"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS: " + invalid.Error(),
			"the certificate is expired or not yet valid: check the local clock, or report it to support"
	}
	return "TLS handshake failed: " + err.Error(),
		"check that --base-url speaks HTTPS on that port (use http:// only for a local exchange)"
}

// clockSkew compares the exchange's Date header with the local clock.
func (r *runner) clockSkew(ctx context.Context) Check {
	p := r.runProbe(ctx)
	switch {
	case p.failed != "":
		return newCheck(NameClock, Skipped, "no answer from the exchange to read its clock from (see reachability)", "")
	case p.date.IsZero():
		return newCheck(NameClock, Skipped, "the exchange's answer had no Date header", "")
	}
	// > 0: the local clock is behind. Date is cut to whole seconds, so it
	// reads on average half a second early.
	skew := (p.date.Sub(p.arrived) + 500*time.Millisecond).Round(time.Second)
	abs := skew.Abs()
	if abs <= 2*time.Second { // and the request took some time
		return newCheck(NameClock, OK, "the local clock agrees with the exchange's Date header (within 2s)", "")
	}
	dir := "behind"
	if skew < 0 {
		dir = "ahead of"
	}
	saw := fmt.Sprintf("the local clock is %s %s the exchange's (Date: %s)", shortDuration(abs), dir, p.date.UTC().Format(time.RFC1123))
	fix := "synchronise the clock with NTP (Linux: `sudo timedatectl set-ntp true`; macOS: `sudo sntp -sS time.apple.com`; Windows: `w32tm /resync`)"
	switch {
	case abs > SkewFail:
		return newCheck(NameClock, Fail, saw+": past the 300s a client assertion may live, tokens look expired or not yet valid", fix)
	case abs > SkewWarn:
		return newCheck(NameClock, Warn, saw, fix)
	}
	return newCheck(NameClock, OK, saw, "")
}
