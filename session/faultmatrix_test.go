package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// clientTimeout is the http.Client timeout of the fault matrix: the
// exchange's Latency and SlowBody faults outlast it.
const clientTimeout = 200 * time.Millisecond

// matrixRetry retries fast; MaxElapsed admits one 1 s Retry-After wait but
// not two.
var matrixRetry = session.Retry{Attempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxElapsed: 1500 * time.Millisecond}

// faultFixture is a local exchange, a client with a short timeout over its
// own connection pool, a file store and a logged-in manager.
type faultFixture struct {
	srv    *traderapitest.Server
	client *traderapi.Client
	hc     *http.Client // the client's HTTP client
	store  *file.Store
	m      *session.Manager
	token  traderapi.Secret // the access token of the login
	rec    *keystore.Record // the record the login stored
}

func newFaultFixture(t *testing.T, retry session.Retry) *faultFixture {
	t.Helper()
	srv := traderapitest.NewServer(traderapitest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Timeout: clientTimeout, Transport: tr}
	client, err := traderapi.NewClient(srv.Environment(), traderapi.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	store, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client, Store: store, Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	f := &faultFixture{srv: srv, client: client, hc: hc, store: store, m: m}
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatalf("Login before the fault: %v", err)
	}
	if f.token, err = m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.rec, err = f.stored(t); err != nil {
		t.Fatalf("no stored session after login: %v", err)
	}
	srv.ResetCounters()
	return f
}

func (f *faultFixture) stored(t *testing.T) (*keystore.Record, error) {
	t.Helper()
	return f.store.Get(context.Background(), keystore.Key{Environment: f.m.Status().Environment, Username: testUser})
}

// assertIntact checks that the manager still serves the login's token
// without a refresh and that the stored record is the login's.
func (f *faultFixture) assertIntact(t *testing.T) {
	t.Helper()
	if tok, err := f.m.Token(t.Context()); err != nil || tok != f.token {
		t.Errorf("the still-valid token is no longer served (err %v)", err)
	}
	rec, err := f.stored(t)
	if err != nil {
		t.Fatalf("stored session lost: %v", err)
	}
	if rec.RefreshToken != f.rec.RefreshToken || rec.AccessToken != f.rec.AccessToken ||
		!rec.AccessExpiry.Equal(f.rec.AccessExpiry) || !rec.RefreshExpiry.Equal(f.rec.RefreshExpiry) {
		t.Errorf("stored session changed: %v, was %v", rec, f.rec)
	}
}

// assertNoSecret checks that an error shows no password or token.
func (f *faultFixture) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for name, s := range map[string]traderapi.Secret{"password": testPassword, "access token": f.token, "refresh token": f.rec.RefreshToken} {
		if strings.Contains(msg, s.Reveal()) {
			t.Errorf("the error shows the %s", name)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("the error is not one line: %q", msg)
	}
}

// faultRow is one fault kind and what each operation makes of it.
type faultRow struct {
	name  string
	fault traderapitest.Fault
	// class is what the error of login and refresh matches; logout's error
	// matches it too, wrapped in ErrNotRevoked, unless logoutOK. Without a
	// class, the error is an *APIError with status.
	class  error
	status int
	// timeout: the error is also a timeout (context.DeadlineExceeded).
	timeout bool
	// refreshCalls is how many calls one failed refresh makes.
	refreshCalls int
	// logoutOK: the fault leaves logout's answer usable.
	logoutOK bool
	// revoked: the exchange did revoke the tokens despite the fault.
	revoked bool
	// transport is what a request through the authorized transport gets.
	transport transportWant
}

// transportWant is the outcome of one request through Manager.Transport:
// the transport passes the exchange's answer (or the network's failure)
// through unchanged and refreshes nothing.
type transportWant struct {
	status  int  // 0: Do fails
	timeout bool // Do or the body read fails with a timeout
	reset   bool // Do fails with the connection reset or closed
	body    func(string) bool
}

var (
	errorJSON = func(b string) bool { return strings.HasPrefix(b, `{"code":`) }
	htmlPage  = func(b string) bool { return strings.Contains(b, "<html>") }
	halfJSON  = func(b string) bool { return strings.HasPrefix(b, "{") && !strings.HasSuffix(strings.TrimSpace(b), "}") }
	orderJSON = func(b string) bool {
		return strings.Contains(b, `"orderId"`) && strings.HasSuffix(strings.TrimSpace(b), "}")
	}
)

// faultMatrix: rows are the faults the local exchange injects. Every row is
// run against login, refresh, logout and the authorized transport.
var faultMatrix = []faultRow{
	{name: "500", fault: traderapitest.Fault{Status: 500}, class: traderapi.ErrUnavailable, refreshCalls: 4,
		transport: transportWant{status: 500, body: errorJSON}},
	{name: "502", fault: traderapitest.Fault{Status: 502}, class: traderapi.ErrUnavailable, refreshCalls: 4,
		transport: transportWant{status: 502, body: errorJSON}},
	{name: "503", fault: traderapitest.Fault{Status: 503}, class: traderapi.ErrUnavailable, refreshCalls: 4,
		transport: transportWant{status: 503, body: errorJSON}},
	// Retry-After 1 s: the first wait fits MaxElapsed (1.5 s), the second does not.
	{name: "429+Retry-After", fault: traderapitest.Fault{Status: 429, RetryAfter: "1"}, class: traderapi.ErrRateLimited, refreshCalls: 2,
		transport: transportWant{status: 429, body: errorJSON}},
	{name: "reset", fault: traderapitest.Fault{Reset: true}, class: traderapi.ErrUnreachable, refreshCalls: 4,
		transport: transportWant{reset: true}},
	{name: "timeout", fault: traderapitest.Fault{Latency: 5 * clientTimeout}, class: traderapi.ErrUnreachable, timeout: true, refreshCalls: 4,
		transport: transportWant{timeout: true}},
	// The headers arrive at once, the body never within the client timeout;
	// the exchange has already done the work (issued, revoked).
	{name: "slow body", fault: traderapitest.Fault{SlowBody: 15 * clientTimeout}, class: traderapi.ErrUnreachable, timeout: true, refreshCalls: 4,
		revoked: true, transport: transportWant{status: 200, timeout: true}},
	// A proxy's error page served with 200.
	{name: "HTML", fault: traderapitest.Fault{HTML: true}, class: traderapi.ErrMalformedResponse, refreshCalls: 4,
		transport: transportWant{status: 200, body: htmlPage}},
	{name: "truncated JSON", fault: traderapitest.Fault{TruncatedJSON: true}, class: traderapi.ErrMalformedResponse, refreshCalls: 4,
		revoked: true, transport: transportWant{status: 200, body: halfJSON}},
	// Only answers carrying an accessToken are garbled: logout and
	// insert_order answers pass untouched.
	{name: "garbled token", fault: traderapitest.Fault{GarbledToken: true}, class: traderapi.ErrMalformedResponse, refreshCalls: 4,
		logoutOK: true, revoked: true, transport: transportWant{status: 200, body: orderJSON}},
	// Issue 10: a proxy's 404 or 403 page is not the exchange rejecting the
	// refresh token: the session is kept (and the refresh not retried
	// within the flight: the cooldown spaces the next one).
	{name: "404 HTML", fault: traderapitest.Fault{Status: 404, HTML: true}, status: 404, refreshCalls: 1,
		transport: transportWant{status: 404, body: htmlPage}},
	{name: "403 HTML", fault: traderapitest.Fault{Status: 403, HTML: true}, class: traderapi.ErrForbidden, refreshCalls: 1,
		transport: transportWant{status: 403, body: htmlPage}},
	// A 409 keeps the session; flights are spaced by the cooldown
	// (TestConflictStormIsBounded).
	{name: "409", fault: traderapitest.Fault{Status: 409}, status: 409, refreshCalls: 1,
		transport: transportWant{status: 409, body: errorJSON}},
	// Auth calls refuse a redirect (nothing replayed, the session kept); the
	// transport's client follows it, to a path on the exchange's own origin
	// here (another origin gets no token: TestTransportTokenOnlyToExchangeOrigin).
	{name: "307 redirect", fault: traderapitest.Fault{Redirect: "/moved"}, class: traderapi.ErrRedirected, refreshCalls: 1,
		transport: transportWant{status: 404, body: errorJSON}},
}

func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, row := range faultMatrix {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			t.Run("login", func(t *testing.T) { t.Parallel(); faultLogin(t, row) })
			t.Run("refresh", func(t *testing.T) { t.Parallel(); faultRefresh(t, row) })
			t.Run("logout", func(t *testing.T) { t.Parallel(); faultLogout(t, row) })
			t.Run("transport", func(t *testing.T) { t.Parallel(); faultTransport(t, row) })
		})
	}
}

// checkClass checks that err matches the row's class (and is a timeout
// where the row says so).
func checkClass(t *testing.T, op string, err error, row faultRow) {
	t.Helper()
	var ae *traderapi.APIError
	switch {
	case row.class == nil && (!errors.As(err, &ae) || ae.StatusCode != row.status):
		t.Errorf("%s error = %v, want an APIError with status %d", op, err, row.status)
	case row.class != nil && !errors.Is(err, row.class):
		t.Errorf("%s error = %v, want one matching %v", op, err, row.class)
	}
	if row.timeout && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s error = %v, want a timeout", op, err)
	}
	t.Logf("%s: %v", op, err)
}

// faultLogin: a failed login (again, over a live session) is not retried,
// and leaves the live session and the stored one as they were.
func faultLogin(t *testing.T, row faultRow) {
	f := newFaultFixture(t, matrixRetry)
	f.srv.InjectFault(traderapi.PathLogin, row.fault)
	err := f.m.Login(t.Context(), testUser, testPassword, "")
	checkClass(t, "login", err, row)
	f.assertNoSecret(t, err)
	if n := f.srv.Calls(traderapi.PathLogin); n != 1 {
		t.Errorf("login calls = %d, want 1: the library does not retry a login", n)
	}
	f.assertIntact(t)
}

// faultRefresh: a transient failure is retried at most Attempts times
// within MaxElapsed, the old token is served throughout and afterwards, and
// the stored session is untouched.
func faultRefresh(t *testing.T, row faultRow) {
	f := newFaultFixture(t, matrixRetry)
	f.srv.InjectFault(traderapi.PathRefresh, row.fault)
	start := time.Now()
	err := f.m.Refresh(t.Context())
	elapsed := time.Since(start)
	checkClass(t, "refresh", err, row)
	f.assertNoSecret(t, err)
	if errors.Is(err, session.ErrSessionExpired) {
		t.Errorf("a transient failure ended the session: %v", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != row.refreshCalls {
		t.Errorf("refresh calls = %d, want %d", n, row.refreshCalls)
	}
	if elapsed > matrixRetry.MaxElapsed {
		t.Errorf("the refresh took %s, over MaxElapsed %s", elapsed, matrixRetry.MaxElapsed)
	}
	t.Logf("refresh: %d calls in %s", f.srv.Calls(traderapi.PathRefresh), elapsed.Round(time.Millisecond))
	f.assertIntact(t)
}

// faultLogout: logout is not retried; the local session is removed
// whatever happens, and a revoke the client could not confirm is reported
// as ErrNotRevoked.
func faultLogout(t *testing.T, row faultRow) {
	f := newFaultFixture(t, matrixRetry)
	f.srv.InjectFault(traderapi.PathLogout, row.fault)
	err := f.m.Logout(t.Context())
	f.assertNoSecret(t, err)
	if row.logoutOK {
		if err != nil {
			t.Errorf("logout = %v, want success", err)
		}
	} else {
		if !errors.Is(err, session.ErrNotRevoked) {
			t.Errorf("logout error = %v, want ErrNotRevoked", err)
		}
		checkClass(t, "logout", err, row)
	}
	if n := f.srv.Calls(traderapi.PathLogout); n != 1 {
		t.Errorf("logout calls = %d, want 1: the library does not retry a logout", n)
	}
	if rec, err := f.stored(t); err != nil || !rec.LoggedOut || rec.RefreshToken != "" || rec.AccessToken != "" {
		t.Errorf("stored session after logout: %v, want a logged-out record without tokens", err)
	}
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
		t.Errorf("Token after logout = %v, want ErrNotLoggedIn", err)
	}
	// Was the refresh token revoked on the exchange after all?
	f.srv.ClearFaults()
	_, rerr := f.client.RefreshAccessToken(t.Context(), traderapi.RefreshRequest{RefreshToken: f.rec.RefreshToken})
	if revoked := errors.Is(rerr, traderapi.ErrUnauthorized); revoked != row.revoked {
		t.Errorf("refresh token revoked on the exchange = %v, want %v (%v)", revoked, row.revoked, rerr)
	}
}

// faultTransport: the authorized transport hands the exchange's answer or
// the network's failure to the caller unchanged: no retry, no refresh, the
// token still served.
func faultTransport(t *testing.T, row faultRow) {
	f := newFaultFixture(t, matrixRetry)
	f.srv.InjectFault(traderapi.PathInsertOrder, row.fault)
	hc := &http.Client{Transport: f.m.Transport(f.hc.Transport), Timeout: clientTimeout}
	req, err := f.client.NewRequest(t.Context(), http.MethodPost, traderapi.PathInsertOrder, strings.NewReader(order))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	var body string
	if err == nil {
		var b strings.Builder
		_, err = copyAll(&b, resp)
		body = b.String()
	}
	want := row.transport
	switch {
	case resp != nil && resp.StatusCode != want.status:
		t.Errorf("status = %d, want %d", resp.StatusCode, want.status)
	case resp == nil && want.status != 0:
		t.Errorf("Do = %v, want a %d response", err, want.status)
	case want.timeout && !errors.Is(err, context.DeadlineExceeded):
		t.Errorf("err = %v, want a timeout", err)
	case want.reset && (err == nil || errors.Is(err, context.DeadlineExceeded)):
		t.Errorf("err = %v, want the connection reset", err)
	case !want.timeout && !want.reset && err != nil:
		t.Errorf("err = %v, want the response", err)
	case want.body != nil && !want.body(body):
		t.Errorf("body = %q: not what the exchange sent", body)
	case want.status == 429 && resp.Header.Get("Retry-After") != "1":
		t.Errorf("Retry-After = %q, want it passed through", resp.Header.Get("Retry-After"))
	}
	t.Logf("transport: status %d, err %v", statusOf(resp), err)
	f.assertNoSecret(t, err)
	if n := f.srv.Calls(traderapi.PathInsertOrder); n != 1 {
		t.Errorf("insert_order calls = %d, want 1: the transport retries only a 401", n)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Errorf("refresh calls = %d, want 0", n)
	}
	f.assertIntact(t)
}

// copyAll reads a response body (at most 1 MiB) into w and closes it.
func copyAll(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
