package traderapitest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// TestDateHeaderFollowsClock: the Date header is the exchange's clock, so
// a test can show clients a skewed server.
func TestDateHeaderFollowsClock(t *testing.T) {
	t.Parallel()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	srv.Advance(time.Hour)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+traderapi.PathCheckPassword, strings.NewReader(`{"password":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = traderapitest.DefaultHost
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	if skew := time.Until(date); skew < 59*time.Minute || skew > 61*time.Minute {
		t.Fatalf("Date is %s off the local clock, want about 1h", skew)
	}
}
