package session_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// fuzzJWT is a JWT with the given claims (and a signature nobody checks).
func fuzzJWT(claims []byte) string {
	return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".c2lnbmF0dXJl"
}

// FuzzLoginTokenLifetime has the exchange answer a login with an access
// token whose JWT claims are fuzzed, and no issue or expiration times, so
// the session schedules the token from the JWT's exp − iat. Login must not
// panic; it either fails with ErrMalformedResponse, holding and storing
// nothing, or succeeds with a token that expires after exp − iat.
func FuzzLoginTokenLifetime(f *testing.F) {
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		f.Fatal(err)
	}
	for _, claims := range []string{
		`{"sub":"trader1","iat":1736935200,"exp":1736938800}`,
		`{"iat":1736935200,"exp":1736935200}`,
		`{"iat":1736935200,"exp":1736935199}`,
		`{"iat":1736935200}`,
		`{"exp":1736938800}`,
		`{"iat":"1736935200","exp":"1736938800"}`,
		`{"iat":1.5,"exp":1e300}`,
		`{"iat":-9223372036854775808,"exp":9223372036854775807}`,
		`{"iat":0,"exp":0.001}`,
		`{"iat":1736935200,"exp":1736938800,"aud":7,"nbf":"x"}`,
		`[]`,
		`null`,
		"\xff",
	} {
		f.Add([]byte(claims))
	}
	f.Fuzz(func(t *testing.T, claims []byte) {
		tok := fuzzJWT(claims)
		body, _ := json.Marshal(map[string]string{"accessToken": tok, "refreshToken": "rt_fuzz"})
		srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Body: body})
		store := keystore.NewMemory()
		m, err := session.New(session.Config{Client: client, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		before := time.Now()
		err = m.Login(t.Context(), testUser, testPassword, "")
		after := time.Now()
		if err != nil {
			if !errors.Is(err, traderapi.ErrMalformedResponse) {
				t.Fatalf("Login = %v, want success or ErrMalformedResponse", err)
			}
			if strings.Contains(err.Error(), tok) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("the error shows the token or is not one line: %q", err)
			}
			if _, err := m.Token(t.Context()); !errors.Is(err, session.ErrNotLoggedIn) {
				t.Fatalf("Token after a failed login = %v, want ErrNotLoggedIn", err)
			}
			if _, err := store.LastUser(t.Context(), m.Status().Environment); !errors.Is(err, keystore.ErrNotFound) {
				t.Fatalf("a failed login stored a session: %v", err)
			}
			return
		}
		st := m.Status()
		if !st.AccessExpiry.After(before.Add(-time.Second)) {
			t.Fatalf("the token was accepted with an expiry %s before the login at %s", st.AccessExpiry, before)
		}
		if life, ok := plainLifetime(claims); ok {
			lo, hi := before.Add(life-time.Second), after.Add(life+time.Second)
			if st.AccessExpiry.Before(lo) || st.AccessExpiry.After(hi) {
				t.Fatalf("expiry %s for a lifetime of %s, want between %s and %s", st.AccessExpiry, life, lo, hi)
			}
		}
		if time.Until(st.AccessExpiry) > time.Minute { // fresh for a while: served without a refresh
			if got, err := m.Token(t.Context()); err != nil || got.Reveal() != tok {
				t.Fatalf("Token after the login = %v, not the token the exchange sent", err)
			}
		}
	})
}

// plainLifetime returns exp − iat of claims whose iat and exp are whole
// numbers of seconds within a thousand years of 1970, as a decoder should
// read them.
func plainLifetime(claims []byte) (time.Duration, bool) {
	var c struct{ Iat, Exp *float64 }
	if json.Unmarshal(claims, &c) != nil || c.Iat == nil || c.Exp == nil {
		return 0, false
	}
	const limit = 1000 * 365 * 24 * 3600
	for _, v := range []float64{*c.Iat, *c.Exp} {
		if v != math.Trunc(v) || math.Abs(v) > limit {
			return 0, false
		}
	}
	d := *c.Exp - *c.Iat
	if d <= 0 || d > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(d) * time.Second, true
}

// fuzzStatuses are the statuses FuzzRefreshResponse answers with.
var fuzzStatuses = []int{200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503}

// FuzzRefreshResponse has the exchange answer a refresh with any status and
// body. The session must not panic and must end in one of three states: a
// new token served and stored; the refresh token rejected (a 4xx the
// session reads as such), the session ended and removed; or a failure that
// leaves the old token served and the stored session intact.
func FuzzRefreshResponse(f *testing.F) {
	srv := traderapitest.NewServer(traderapitest.Options{})
	defer srv.Close()
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		f.Fatal(err)
	}
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		f.Fatal(err)
	}
	valid := fuzzJWT([]byte(`{"iat":1736935200,"exp":1736938800}`))
	for _, body := range []string{
		`{"accessToken":"` + valid + `","accessIssueTime":"2025-01-15T10:00:00Z","accessExpirationTime":"2025-01-15T11:00:00Z"}`,
		`{"accessToken":"` + valid + `"}`,
		`{"accessToken":"` + valid + `","refreshToken":"rt_new","refreshIssueTime":"2025-01-15T10:00:00Z","refreshExpirationTime":"2025-01-22T10:00:00Z"}`,
		`{"accessToken":"opaque","accessIssueTime":"2025-01-15T10:00:00Z","accessExpirationTime":"2025-01-15T10:00:00Z"}`,
		`{"accessToken":"a b"}`,
		`{"code":16,"message":"refresh token revoked"}`,
		`{"error":"invalid_grant","error_description":"expired"}`,
		`<html><body>502 Bad Gateway</body></html>`,
		``,
	} {
		for _, i := range []int{0, 4, 9} {
			f.Add(i, []byte(body))
		}
	}
	retry := session.Retry{Attempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxElapsed: time.Second}
	f.Fuzz(func(t *testing.T, statusIndex int, body []byte) {
		status := fuzzStatuses[(statusIndex%len(fuzzStatuses)+len(fuzzStatuses))%len(fuzzStatuses)]
		srv.ClearFaults()
		store := keystore.NewMemory()
		m, err := session.New(session.Config{Client: client, Store: store, Retry: retry})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Login(t.Context(), testUser, testPassword, ""); err != nil {
			t.Fatal(err)
		}
		old, _ := m.Token(t.Context())
		key := keystore.Key{Environment: m.Status().Environment, Username: testUser}
		rec, _ := store.Get(t.Context(), key)
		srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: status, Body: body})
		err = m.Refresh(t.Context())
		switch {
		case err == nil:
			if status >= 300 || m.Status().AccessExpiry.IsZero() {
				t.Fatalf("status %d: a refresh succeeded without a usable token: %+v", status, m.Status())
			}
			got, _ := store.Get(t.Context(), key)
			if got == nil || got.AccessToken == old {
				t.Fatalf("status %d: the new token was not stored", status)
			}
		case errors.Is(err, session.ErrSessionExpired):
			if status < 400 || status > 404 {
				t.Fatalf("status %d ended the session: %v", status, err)
			}
			if rec, err := store.Get(t.Context(), key); err != nil || rec.RefreshToken != "" || rec.AccessToken != "" {
				t.Fatalf("the ended session's record still holds tokens (or is gone: %v)", err)
			}
		default:
			if tok, terr := m.Token(t.Context()); terr != nil || tok != old {
				t.Fatalf("status %d: %v; the old token is not served (%v)", status, err, terr)
			}
			if got, gerr := store.Get(t.Context(), key); gerr != nil || got.AccessToken != rec.AccessToken || got.RefreshToken != rec.RefreshToken {
				t.Fatalf("status %d: %v; the stored session changed (%v)", status, err, gerr)
			}
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, old.Reveal()) || strings.Contains(msg, rec.RefreshToken.Reveal()) || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("the error shows a token or is not one line: %q", msg)
			}
		}
	})
}
