package traderapitest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// fmtAll prints v with every verb a log line might use.
func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v)
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{MinPasswordLen: 10})
	for _, tc := range []struct {
		password, user string
		reasons        []string
	}{
		{"abcdefghij1", "", nil},
		{"short1", "", []string{"at least 10 characters"}},
		{"abcdefghijkl", "", []string{"must contain a digit"}},
		{"123456789012", "", []string{"must contain a letter"}},
		{"!!", "", []string{"at least 10", "a letter", "a digit"}},
		{"my-name-is-Carol-1", "carol", []string{"must not contain the username"}},
	} {
		a := post(t, s, traderapi.PathCheckPassword, map[string]string{"password": tc.password, "username": tc.user})
		if tc.reasons == nil {
			if a.status != http.StatusOK || a.json["valid"] != true {
				t.Errorf("%q: got %d %s, want 200 {\"valid\":true}", tc.password, a.status, a.raw)
			}
			continue
		}
		wantError(t, a, http.StatusBadRequest, 3, "")
		msg := a.str("message")
		if !strings.HasPrefix(msg, "password does not meet policy: ") {
			t.Errorf("%q: message %q", tc.password, msg)
		}
		for _, r := range tc.reasons {
			if !strings.Contains(msg, r) || !strings.Contains(string(a.raw), `"fieldViolations"`) {
				t.Errorf("%q: %s lacks %q", tc.password, a.raw, r)
			}
		}
		if strings.Contains(string(a.raw), tc.password) {
			t.Errorf("the answer quotes the password: %s", a.raw)
		}
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	tok := s.RegistrationToken("dave")
	if parts := strings.Split(tok, "."); len(parts) != 3 || !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("registration token %q is not a JWT", tok)
	}
	var claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	decodeJWTPart(t, tok, 1, &claims)
	if claims.Sub != "dave" || claims.Exp != t0.Add(24*time.Hour).Unix() {
		t.Fatalf("claims %+v, want sub dave and exp in 24h", claims)
	}

	// A weak password is refused and does not use the token up.
	wantError(t, post(t, s, traderapi.PathRegister, map[string]string{"token": tok, "password": "weak"}), http.StatusBadRequest, 3, "")
	a := post(t, s, traderapi.PathRegister, map[string]string{"token": tok, "password": "has-a-long-pass-1"})
	if a.status != http.StatusOK || a.str("username") != "dave" {
		t.Fatalf("register: %d %s", a.status, a.raw)
	}
	login(t, s, "dave", "has-a-long-pass-1")
	wantError(t, post(t, s, traderapi.PathRegister, map[string]string{"token": tok, "password": "another-long-22"}),
		http.StatusBadRequest, 9, "registration token already used: registration is a one-time operation")

	other := traderapitest.New(traderapitest.Options{})
	access := login(t, s, alice, alicePW).str("accessToken")
	for name, forged := range map[string]string{
		"another exchange's": other.RegistrationToken("erin"),
		"an access token":    access,
		"not a JWT":          "hello",
	} {
		a := post(t, s, traderapi.PathRegister, map[string]string{"token": forged, "password": "erin-long-pass-1"})
		wantError(t, a, http.StatusUnauthorized, 16, "invalid registration token")
		_ = name
	}
	late := s.RegistrationToken("frank")
	s.Advance(24*time.Hour + time.Second)
	wantError(t, post(t, s, traderapi.PathRegister, map[string]string{"token": late, "password": "frank-long-pass-1"}),
		http.StatusUnauthorized, 16, "")
	wantError(t, post(t, s, traderapi.PathRegister, map[string]string{"token": s.RegistrationToken("gina"), "password": "gina-long-pass-1x"}),
		http.StatusBadRequest, 3, "") // contains the username
	wantError(t, post(t, s, traderapi.PathRegister, map[string]string{"token": s.RegistrationToken(alice), "password": "long-pass-number-1"}),
		http.StatusConflict, 6, "user already registered")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	s := newServer(t, traderapitest.Options{})
	change := func(old, nw string) answer {
		return post(t, s, traderapi.PathChangePassword, map[string]string{"username": alice, "oldPassword": old, "newPassword": nw})
	}
	wantError(t, change("wrong-password-1", aliceNew), http.StatusUnauthorized, 16, "invalid username or password")
	wantError(t, change(alicePW, "weak"), http.StatusBadRequest, 3, "")
	wantError(t, change(alicePW, alicePW), http.StatusBadRequest, 3, "password does not meet policy: must differ from the old password")
	if a := change(alicePW, aliceNew); a.status != http.StatusOK || string(a.raw) != "{}" {
		t.Fatalf("change_password: %d %s", a.status, a.raw)
	}
	wantError(t, post(t, s, traderapi.PathLogin, map[string]string{"username": alice, "password": alicePW}),
		http.StatusUnauthorized, 16, "invalid username or password")
	login(t, s, alice, aliceNew)
	if err := s.AddUser(alice, aliceNew); err == nil {
		t.Fatal("AddUser of an existing user succeeded")
	}
}

// decodeJWTPart decodes part i (0 header, 1 claims) of a JWT into v.
func decodeJWTPart(t *testing.T, tok string, i int, v any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64URL(parts[i])
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
}
