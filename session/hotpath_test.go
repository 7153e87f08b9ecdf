package session_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

func TestTokenHotPathAllocatesNothing(t *testing.T) {
	f := setup(t, traderapitest.Options{}, session.Config{})
	f.login(t)
	ctx := t.Context()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := f.m.Token(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Token allocates %.1f times per call, want 0", allocs)
	}
	if n := f.srv.Calls(traderapi.PathRefresh); n != 0 {
		t.Fatalf("the hot path made %d refresh calls", n)
	}
}

// TestNoSecretInOutput formats the manager, its status, credentials and
// every log line of a full run, and greps them for the secrets of the run.
func TestNoSecretInOutput(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	creds := session.Credentials{Username: testUser, Password: testPassword, OTP: "123456"}
	f := setup(t, traderapitest.Options{}, session.Config{
		Logger:  logger,
		Relogin: func(context.Context, string) (session.Credentials, error) { return creds, nil },
	})
	tok := f.login(t)
	rec, _ := storedRecord(t, f.store, f.m.Status().Environment)
	f.srv.InjectFault(traderapi.PathRefresh, traderapitest.Fault{Status: 503, Times: 1})
	if err := f.m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeRefreshTokens(testUser)
	if err := f.m.Refresh(t.Context()); err != nil { // relogin path logs too
		t.Fatal(err)
	}
	tok2, _ := f.m.Token(t.Context())

	var out strings.Builder
	for _, v := range []any{f.m, f.m.Status(), creds, rec} {
		fmt.Fprintf(&out, "%v %+v %#v %s\n", v, v, v, v)
		logger.Info("value", "v", v)
	}
	out.WriteString(logs.String())
	for name, secret := range map[string]traderapi.Secret{
		"password": testPassword, "access token": tok, "new access token": tok2,
		"refresh token": rec.RefreshToken, "otp": creds.OTP,
	} {
		if strings.Contains(out.String(), secret.Reveal()) {
			t.Errorf("the %s appears in formatted output or logs", name)
		}
	}
	if !strings.Contains(logs.String(), "refreshed access token") {
		t.Errorf("the logger saw no refresh: %s", logs.String())
	}
}

// benchManager returns a logged-in manager whose token stays fresh.
func benchManager(b *testing.B) *session.Manager {
	b.Helper()
	srv := traderapitest.NewServer(traderapitest.Options{})
	b.Cleanup(srv.Close)
	if err := srv.AddUser(testUser, testPassword.Reveal()); err != nil {
		b.Fatal(err)
	}
	client, err := traderapi.NewClient(srv.Environment())
	if err != nil {
		b.Fatal(err)
	}
	m, err := session.New(session.Config{Client: client})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Login(context.Background(), testUser, testPassword, ""); err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkToken(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenParallel(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// staticSource hands out one long-lived token, as an oauth2 source would.
type staticSource struct{ tok *oauth2.Token }

func (s staticSource) Token() (*oauth2.Token, error) { return s.tok, nil }

func oauth2Source() oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, staticSource{&oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(time.Hour)}})
}

func BenchmarkOAuth2ReuseTokenSource(b *testing.B) {
	ts := oauth2Source()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOAuth2ReuseTokenSourceParallel(b *testing.B) {
	ts := oauth2Source()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
