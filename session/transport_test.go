package session_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

const order = `{"symbol":"aec-nfl-buf-nyj-2025-01-15","side":"SIDE_BUY","order_qty":"10","price":"0.55"}`

func insertOrder(t *testing.T, f *fixture, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := f.client.NewRequest(t.Context(), http.MethodPost, traderapi.PathInsertOrder, body)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: f.m.Transport(nil)}
	return hc.Do(req)
}

func lastAuthorization(f *fixture, path string) string {
	reqs := f.srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i].Header.Get("Authorization")
		}
	}
	return ""
}

func TestTransportSendsRawToken(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	tok := f.login(t)
	resp, err := insertOrder(t, f, strings.NewReader(order))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("insert_order = %d", resp.StatusCode)
	}
	if got := lastAuthorization(f, traderapi.PathInsertOrder); got != tok.Reveal() {
		t.Fatalf("Authorization sent is not the raw access token (Bearer prefix? %v)", strings.HasPrefix(got, "Bearer"))
	}
}

func TestTransportRetriesOnceOn401(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	first := f.login(t)
	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Status: 401, Times: 1})
	resp, err := insertOrder(t, f, bytes.NewReader([]byte(order))) // bytes.Reader: GetBody is set
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after one 401 the retry got %d", resp.StatusCode)
	}
	if r, o := f.srv.Calls(traderapi.PathRefresh), f.srv.Calls(traderapi.PathInsertOrder); r != 1 || o != 2 {
		t.Fatalf("refresh calls %d, order calls %d; want 1 and 2", r, o)
	}
	if got := lastAuthorization(f, traderapi.PathInsertOrder); got == first.Reveal() || got == "" {
		t.Fatalf("the retry did not carry the refreshed token")
	}
}

func TestTransportSecond401Stands(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Status: 401})
	resp, err := insertOrder(t, f, bytes.NewReader([]byte(order)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status = %d, want the second 401 returned", resp.StatusCode)
	}
	if o := f.srv.Calls(traderapi.PathInsertOrder); o != 2 {
		t.Fatalf("order calls = %d, want exactly 2 (one retry)", o)
	}
}

func TestTransport403IsNotRetried(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Status: 403, Times: 1})
	resp, err := insertOrder(t, f, bytes.NewReader([]byte(order)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || f.srv.Calls(traderapi.PathRefresh) != 0 || f.srv.Calls(traderapi.PathInsertOrder) != 1 {
		t.Fatalf("403: status %d, refreshes %d, calls %d; want 403, 0, 1",
			resp.StatusCode, f.srv.Calls(traderapi.PathRefresh), f.srv.Calls(traderapi.PathInsertOrder))
	}
}

func TestTransportDoesNotReplayOneShotBody(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	f.srv.InjectFault(traderapi.PathInsertOrder, traderapitest.Fault{Status: 401, Times: 1})
	// io.MultiReader hides the concrete type: NewRequest cannot set GetBody.
	resp, err := insertOrder(t, f, io.MultiReader(strings.NewReader(order)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || f.srv.Calls(traderapi.PathInsertOrder) != 1 {
		t.Fatalf("one-shot body: status %d after %d calls; want the 401 after 1 call", resp.StatusCode, f.srv.Calls(traderapi.PathInsertOrder))
	}
}

func TestTransportNotLoggedIn(t *testing.T) {
	t.Parallel()
	f := setup(t, traderapitest.Options{}, session.Config{})
	_, err := insertOrder(t, f, strings.NewReader(order))
	if !errors.Is(err, session.ErrNotLoggedIn) {
		t.Fatalf("err = %v, want ErrNotLoggedIn", err)
	}
	if f.srv.Calls(traderapi.PathInsertOrder) != 0 {
		t.Fatalf("a request went out without a token")
	}
}
