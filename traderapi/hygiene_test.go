package traderapi_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TestPlainHTTPOnlyToLoopback: a plain http:// base URL is refused for any
// host but a loopback one, with an error naming the host; https is fine.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, host string
	}{
		{"http://traderapi.example.com", "traderapi.example.com"},
		{"http://10.0.0.7:8080", "10.0.0.7"},
		{"http://localhost.example.com", "localhost.example.com"},
		{"http://[2001:db8::1]:80", "2001:db8::1"},
	} {
		_, err := traderapi.NewClient(traderapi.Environment{Name: "x"}, traderapi.WithBaseURL(tc.url))
		if !errors.Is(err, traderapi.ErrInsecureURL) || !strings.Contains(err.Error(), `"`+tc.host+`"`) ||
			!strings.Contains(err.Error(), "https") {
			t.Errorf("%s: %v, want ErrInsecureURL naming %q and https", tc.url, err, tc.host)
		}
	}
	for _, ok := range []string{"https://traderapi.example.com", "http://localhost:8080", "http://LOCALHOST",
		"http://127.0.0.1:1", "http://127.8.9.10", "http://[::1]:9"} {
		if _, err := traderapi.NewClient(traderapi.Environment{Name: "x", BaseURL: ok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	u, _ := url.Parse("ftp://127.0.0.1")
	if err := traderapi.RequireHTTPS(u); !errors.Is(err, traderapi.ErrInsecureURL) {
		t.Errorf("ftp: %v", err)
	}
}
