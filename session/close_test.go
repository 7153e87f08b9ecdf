package session_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Issue 10, item 7: Close, Start and the transports' lifecycle.

// closeBound is what a test allows Close: its own bound (2 s) and slack
// for a loaded machine.
const closeBound = 5 * time.Second

// arrived waits for a held request to reach the exchange.
func arrived(t *testing.T, h *traderapitest.Hold) {
	t.Helper()
	select {
	case <-h.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the held request never reached the exchange")
	}
}

// recv waits for the result of a call run in a goroutine.
func recv(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

// TestCloseStopsRefreshInFlight: the exchange has applied a refresh and
// holds its answer; Close returns within its bound, and after it nothing
// is published or saved: Token says closed and the store holds the login's
// record, also once the held answer is released.
func TestCloseStopsRefreshInFlight(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	rec, err := storedRecord(t, f.store, f.m.Status().Environment)
	if err != nil {
		t.Fatal(err)
	}
	h := f.srv.Hold(traderapi.PathRefresh)
	done := make(chan error, 1)
	go func() { done <- f.m.Refresh(context.Background()) }()
	arrived(t, h)
	start := time.Now()
	if err := f.m.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	took := time.Since(start)
	t.Logf("Close with a refresh in flight took %s", took.Round(time.Millisecond))
	if took > closeBound {
		t.Errorf("Close took %s; want it bounded (2 s)", took)
	}
	refreshErr := recv(t, done, "Refresh")
	h.Release()
	t.Logf("the refresh in flight: %v", refreshErr)
	if refreshErr == nil {
		t.Error("the refresh in flight succeeded after Close")
	}
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Errorf("Token after Close = %v, want ErrClosed", err)
	}
	if got, err := storedRecord(t, f.store, f.m.Status().Environment); err != nil || !sameRecord(got, rec) {
		t.Errorf("the store does not hold the login's record after Close (err %v)", err)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 1 {
		t.Errorf("refresh calls = %d, want the one held", n)
	}
}

// TestCloseIsIdempotent: a second Close returns nil at once; the manager
// stays closed.
func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	for i := range 3 {
		if err := f.m.Close(); err != nil {
			t.Fatalf("Close #%d = %v", i+1, err)
		}
	}
	if _, err := f.m.Token(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Errorf("Token after Close = %v, want ErrClosed", err)
	}
	if st := f.m.Status(); !errors.Is(st.Ended, session.ErrClosed) {
		t.Errorf("Status().Ended = %v, want ErrClosed", st.Ended)
	}
	if _, err := storedRecord(t, f.store, f.m.Status().Environment); err != nil {
		t.Errorf("Close removed the stored session: %v", err)
	}
}

// TestStartAfterCancelledStart: a Start right after an earlier Start's
// context was cancelled runs a new refresher: a refresh happens in the
// background, with no caller asking for a token.
func TestStartAfterCancelledStart(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{AccessTTL: 2 * time.Second}, session.Config{})
	f.login(t)
	first, cancel := context.WithCancel(t.Context())
	if err := f.m.Start(first); err != nil {
		t.Fatalf("Start = %v", err)
	}
	cancel()
	if err := f.m.Start(t.Context()); err != nil {
		t.Fatalf("Start after the first one's ctx was cancelled = %v", err)
	}
	waitFor(t, 10*time.Second, "a background refresh", func() bool { return f.srv.Calls(traderapi.PathRefresh) >= 1 })
}

// TestStartAfterClose: Start after Close reports ErrClosed and refreshes
// nothing.
func TestStartAfterClose(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	_ = f.m.Close()
	if err := f.m.Start(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

// idleCounter is a RoundTripper that counts CloseIdleConnections.
type idleCounter struct {
	http.RoundTripper
	closed atomic.Int32
}

func (c *idleCounter) CloseIdleConnections() { c.closed.Add(1) }

// TestTransportForwardsCloseIdleConnections: http.Client's
// CloseIdleConnections reaches the transport under Manager.Transport.
func TestTransportForwardsCloseIdleConnections(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	base := &idleCounter{RoundTripper: http.DefaultTransport}
	(&http.Client{Transport: f.m.Transport(base)}).CloseIdleConnections()
	if n := base.closed.Load(); n != 1 {
		t.Fatalf("CloseIdleConnections reached the base transport %d times, want 1", n)
	}
}

// TestNoGoroutineOutlivesClose: with the background refresher running and
// a refresh held at the exchange, Close leaves no goroutine behind (the
// test's own HTTP transport and server are closed before checking). Not
// parallel: goleak sees every goroutine of the process.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	client, err := traderapi.NewClient(srv.Environment(), traderapi.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil { // only Close stops it
		t.Fatal(err)
	}
	h := srv.Hold(traderapi.PathRefresh)
	done := make(chan error, 1)
	go func() { done <- m.Refresh(context.Background()) }()
	arrived(t, h)
	_ = m.Close()
	recv(t, done, "Refresh")
	h.Release()
	tr.CloseIdleConnections()
	srv.Close()
	goleak.VerifyNone(t, ignore)
}

// TestLoginLosingARaceSaysWhy: a Logout or a Close while a Login's call
// is under way wins, and the Login's error says which: logged out
// (matching ErrLoggedOut and ErrNotLoggedIn) or closed (ErrClosed).
func TestLoginLosingARaceSaysWhy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		win  func(m *session.Manager) error
		want error
	}{
		{"logout", func(m *session.Manager) error { return m.Logout(context.Background()) }, session.ErrLoggedOut},
		{"close", func(m *session.Manager) error { return m.Close() }, session.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, traderapitest.Options{}, session.Config{})
			f.login(t)
			h := f.srv.Hold(traderapi.PathLogin)
			done := make(chan error, 1)
			go func() { done <- f.m.Login(context.Background(), testUser, testPassword, "") }()
			arrived(t, h)
			if err := tc.win(f.m); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			h.Release()
			err := recv(t, done, "Login")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Login after a %s meanwhile = %v, want %v", tc.name, err, tc.want)
			}
			if tc.want == session.ErrLoggedOut && !errors.Is(err, session.ErrNotLoggedIn) {
				t.Errorf("Login = %v, want it to match ErrNotLoggedIn too", err)
			}
		})
	}
}
