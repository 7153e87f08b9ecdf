package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Each class of failure, produced for real against the local exchange,
// gives its exit code and a one-line message with its hint.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	login := []string{"login", "--username", testUser, "--password-stdin"}
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *fixture)
		stdin   string
		args    []string
		code    int
		want    []string
	}{
		{"not logged in", nil, "", []string{"token"}, exitNotLoggedIn, []string{"no stored session for preprod", "(run `pmx-login login`)"}},
		{"session expired", func(t *testing.T, f *fixture) {
			f.login(t)
			f.srv.RevokeRefreshTokens(testUser)
		}, "", []string{"refresh"}, exitNotLoggedIn, []string{"session expired", "run `pmx-login login`"}},
		{"wrong password", nil, "wrong-password-42\n", login, exitRejected, []string{"invalid username or password", "(check the username and password)"}},
		{"weak password", nil, "abc\n", []string{"check-password", "--password-stdin"}, exitRejected, []string{"must contain a digit"}},
		{"bad registration token", nil, testPassword + "\n", []string{"register", "--token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "--password-stdin"}, exitRejected, []string{"invalid registration token", "account manager"}},
		{"wrong current password", func(t *testing.T, f *fixture) { f.login(t) }, "wrong-password-42\n" + newPassword + "\n",
			[]string{"change-password", "--password-stdin"}, exitRejected, []string{"check the username and the current password"}},
		{"unavailable", func(t *testing.T, f *fixture) {
			f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Status: 503})
		}, testPassword + "\n", login, exitUnreachable, []string{"503 Service Unavailable", "check --base-url/--host"}},
		{"rate limited", func(t *testing.T, f *fixture) {
			f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{RetryAfter: "7"})
		}, testPassword + "\n", login, exitUnreachable, []string{"429", "wait a little"}},
		{"HTML from a proxy", func(t *testing.T, f *fixture) {
			f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{HTML: true})
		}, testPassword + "\n", login, exitUnreachable, []string{"malformed response", "HTML"}},
		{"unreachable", func(t *testing.T, f *fixture) { f.vars["PMX_BASE_URL"] = closedURL(t) }, testPassword + "\n", login, exitUnreachable,
			[]string{"exchange unreachable", "check --base-url/--host"}},
		{"wrong host", func(t *testing.T, f *fixture) { f.vars["PMX_HOST"] = "rest.prod.polymarketexchange.com" }, testPassword + "\n", login, exitUnreachable,
			[]string{"421", "check --base-url/--host"}},
		{"revoke not confirmed", func(t *testing.T, f *fixture) {
			f.login(t)
			f.srv.InjectFault(traderapi.PathLogout, traderapitest.Fault{Status: 401, HTML: true})
		}, "", []string{"logout"}, exitUnreachable, []string{"revoke could not be confirmed", "stay valid until they expire"}},
		{"timeout", func(t *testing.T, f *fixture) {
			f.srv.InjectFault(traderapi.PathLogin, traderapitest.Fault{Latency: 5 * time.Second})
		}, testPassword + "\n", append([]string{"--timeout", "200ms"}, login...), exitUnreachable, []string{"--timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t).withUser(t)
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			wantCode(t, f.run(t, tt.stdin, tt.args...), tt.code, tt.want...)
		})
	}
}

// closedURL is the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// exitCode and message over errors that are hard to cause for real (a
// locked keychain) or that must keep their class when wrapped.
func TestExitCodeAndMessage(t *testing.T) {
	t.Parallel()
	otp := &traderapi.APIError{Endpoint: traderapi.PathLogin, StatusCode: 401, Code: 16, Message: "otp required"}
	oneTime := &traderapi.APIError{Endpoint: traderapi.PathRegister, StatusCode: 400, Message: "registration is a one-time operation"}
	tests := []struct {
		err       error
		code      int
		line      string
		hintHas   string
		hintLacks string
	}{
		{fmt.Errorf("keystore: %w", keyring.ErrLocked), exitFailure, "keychain unavailable", "--keystore file", ""},
		{fmt.Errorf("login: %w", fmt.Errorf("%w: %w", session.ErrNotStored, keyring.ErrTimeout)), exitFailure, "keystore was not updated", "--keystore file", ""},
		{fmt.Errorf("x: %w", session.ErrSessionExpired), exitNotLoggedIn, "x: session expired", "pmx-login login", ""},
		{fmt.Errorf("login: %w", otp), exitRejected, "otp required", "each code works once", ""},
		{fmt.Errorf("%w: %w", keyring.ErrTimeout, context.DeadlineExceeded), exitFailure, "keychain", "the keychain did not answer", "network"},
		{fmt.Errorf("resume: %w: %w", keyring.ErrTimeout, fmt.Errorf("abandoned: %w", context.DeadlineExceeded)), exitFailure, "keychain", "unlock it", "network"},
		{fmt.Errorf("refresh: %w", fmt.Errorf("%w: %w", session.ErrNotStored, errors.New("disk full"))), exitFailure, "keystore was not updated", "keystore could not be written", ""},
		{fmt.Errorf("x: %w", errInterrupted), exitInterrupted, "interrupted", "", ""},
		{oneTime, exitRejected, "one-time operation", "account manager", "--otp"},
		{fmt.Errorf("%w: %w", errBadOTP, errors.New("the code has 5 digits")), exitUsage, "the code has 5 digits", "6-digit code", ""},
		{&traderapi.NetError{Endpoint: traderapi.PathRefresh, Err: errors.New("connection refused")}, exitUnreachable, "connection refused", "--base-url", ""},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), exitUnreachable, "deadline exceeded", "--timeout", ""},
		{usageErrorf("login", "bad\nflag"), exitUsage, "bad flag", "pmx-login login --help", ""},
		{errors.New("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl leaked"), exitFailure, "token [REDACTED] leaked", "", ""},
	}
	for _, tt := range tests {
		got, hint := classify(tt.err)
		if got != tt.code {
			t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.code)
		}
		line := errorLine(tt.err)
		if !strings.Contains(line, tt.line) || strings.Contains(line, "\n") {
			t.Errorf("message(%v) line = %q, want it to hold %q on one line", tt.err, line, tt.line)
		}
		if !strings.Contains(line+" ("+hint+")", tt.hintHas) || (tt.hintLacks != "" && strings.Contains(hint, tt.hintLacks)) {
			t.Errorf("message(%v) hint = %q, want %q and not %q", tt.err, hint, tt.hintHas, tt.hintLacks)
		}
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Minute, "in 42m"},
		{-3 * time.Minute, "expired 3m ago"},
		{59*time.Minute + 59*time.Second, "in 1h0m"},
		{90 * time.Minute, "in 1h30m"},
		{7 * 24 * time.Hour, "in 7d0h"},
		{45 * time.Second, "in 45s"},
		{0, "in 0s"},
		{-26 * time.Hour, "expired 26h0m ago"},
	} {
		if got := relative(now, now.Add(tt.d)); got != tt.want {
			t.Errorf("relative(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
