package traderapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrInsecureURL matches the error for a plain http:// URL to a host that
// is not a loopback one: credentials never travel in clear over a network.
var ErrInsecureURL = errors.New("https required")

// NoRedirects returns a shallow copy of hc that never follows a redirect:
// a 3xx is returned as the response. The copy keeps hc's Transport, Jar and
// Timeout; hc itself is not changed. Calls that carry credentials (a
// password, a token, a client assertion) go through such a copy, so that a
// 307 or 308 never replays their body, to another origin or anywhere.
func NoRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// IsLoopbackHost reports whether host (a URL's Hostname, without port or
// brackets) is "localhost" or an address in 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RequireHTTPS accepts an https URL, and an http one only to a loopback host
// (a local test exchange). Otherwise it returns an error naming the host
// that matches [ErrInsecureURL].
func RequireHTTPS(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("plain http to %q: %w (http is allowed only to a loopback host: localhost, 127.0.0.0/8, ::1)",
			u.Hostname(), ErrInsecureURL)
	}
	return fmt.Errorf("scheme %q: %w", u.Scheme, ErrInsecureURL)
}
