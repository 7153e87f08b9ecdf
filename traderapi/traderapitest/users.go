package traderapitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/traderapi"
)

// registrationTTL is how long a registration token stays valid.
const registrationTTL = 24 * time.Hour

// user is a registered account. Passwords are kept only as HMACs.
type user struct {
	name          string
	password      []byte // HMAC-SHA256 of the password under the exchange key
	mfaSecret     string // active TOTP secret; "" while MFA is off
	pendingSecret string // secret handed out by enroll_mfa, not yet confirmed
	lastStep      int64  // last TOTP time step accepted (RFC 6238 §5.2)
}

// hashPassword returns the HMAC a password is stored and compared as.
func (e *Exchange) hashPassword(password string) []byte {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte("password\x00" + password))
	return m.Sum(nil)
}

// checkPassword returns the user if the password is theirs; e.mu must be held.
func (e *Exchange) checkPassword(username, password string) (*user, bool) {
	u, ok := e.users[username]
	if !ok {
		e.hashPassword(password) // the same work as for a known user
		return nil, false
	}
	return u, hmac.Equal(u.password, e.hashPassword(password))
}

// AddUser creates a registered user directly, as if it had registered. The
// password must meet the policy.
func (e *Exchange) AddUser(username, password string) error {
	if username == "" {
		return errors.New("traderapitest: AddUser: empty username")
	}
	if reasons := e.policyViolations(username, password); len(reasons) > 0 {
		return fmt.Errorf("traderapitest: AddUser %q: password does not meet policy: %s", username, strings.Join(reasons, "; "))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[username]; ok {
		return fmt.Errorf("traderapitest: AddUser: user %q already exists", username)
	}
	e.users[username] = &user{name: username, password: e.hashPassword(password)}
	return nil
}

// registrationClaims are the claims of a registration token.
type registrationClaims struct {
	jwt.RegisteredClaims
	Use string `json:"token_use"`
}

// RegistrationToken mints the registration JWT an account manager would
// send: HS256, sub = username, valid for 24 hours, accepted by register
// once.
func (e *Exchange) RegistrationToken(username string) string {
	now := e.Now()
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, registrationClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    e.issuer,
			Subject:   username,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(registrationTTL)),
			ID:        uuid.NewString(),
		},
		Use: "registration",
	}).SignedString(e.key) // HMAC signing with a non-empty key does not fail
	return tok
}

// policyViolations lists what a password lacks, empty when it is acceptable.
func (e *Exchange) policyViolations(username, password string) []string {
	var reasons []string
	if n := len([]rune(password)); n < e.minPasswordLen {
		reasons = append(reasons, fmt.Sprintf("must be at least %d characters long (it is %d)", e.minPasswordLen, n))
	}
	if !strings.ContainsFunc(password, unicode.IsLetter) {
		reasons = append(reasons, "must contain a letter")
	}
	if !strings.ContainsFunc(password, unicode.IsDigit) {
		reasons = append(reasons, "must contain a digit")
	}
	if username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)) {
		reasons = append(reasons, "must not contain the username")
	}
	return reasons
}

// policyError is the 400 for a password that fails the policy, with one
// google.rpc.BadRequest field violation per reason.
func policyError(field string, reasons []string) reply {
	violations := make([]map[string]string, len(reasons))
	for i, r := range reasons {
		violations[i] = map[string]string{"field": field, "description": r}
	}
	return invalidArgument("password does not meet policy: "+strings.Join(reasons, "; "), map[string]any{
		"@type":           "type.googleapis.com/google.rpc.BadRequest",
		"fieldViolations": violations,
	})
}

func (e *Exchange) serveCheckPassword(_ *http.Request, body []byte) reply {
	var in struct {
		Password traderapi.Secret `json:"password"`
		Username string           `json:"username"`
	}
	if rep := decodeRequest(body, &in); rep != nil {
		return *rep
	}
	if rep := required("password", in.Password.Reveal()); rep != nil {
		return *rep
	}
	if reasons := e.policyViolations(in.Username, in.Password.Reveal()); len(reasons) > 0 {
		return policyError("password", reasons)
	}
	return jsonReply(http.StatusOK, map[string]bool{"valid": true})
}

func (e *Exchange) serveRegister(_ *http.Request, body []byte) reply {
	var in struct {
		Token    traderapi.Secret `json:"token"`
		Password traderapi.Secret `json:"password"`
	}
	if rep := decodeRequest(body, &in); rep != nil {
		return *rep
	}
	if rep := required("token", in.Token.Reveal(), "password", in.Password.Reveal()); rep != nil {
		return *rep
	}
	var claims registrationClaims
	if _, err := e.parseJWT(in.Token.Reveal(), &claims); err != nil || claims.Use != "registration" || claims.Subject == "" {
		return unauthenticated("invalid registration token")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if claims.ExpiresAt == nil || !e.now().Before(claims.ExpiresAt.Time) {
		return unauthenticated("registration token expired: ask your account manager for a new one")
	}
	if e.registrations[claims.ID] {
		return failedPrecondition("registration token already used: registration is a one-time operation")
	}
	if _, ok := e.users[claims.Subject]; ok {
		return rpcError(http.StatusConflict, codeAlreadyExists, "user already registered")
	}
	if reasons := e.policyViolations(claims.Subject, in.Password.Reveal()); len(reasons) > 0 {
		return policyError("password", reasons) // the token stays usable
	}
	e.registrations[claims.ID] = true
	e.users[claims.Subject] = &user{name: claims.Subject, password: e.hashPassword(in.Password.Reveal())}
	return jsonReply(http.StatusOK, map[string]string{"username": claims.Subject})
}

func (e *Exchange) serveChangePassword(_ *http.Request, body []byte) reply {
	var in struct {
		Username    string           `json:"username"`
		OldPassword traderapi.Secret `json:"oldPassword"`
		NewPassword traderapi.Secret `json:"newPassword"`
	}
	if rep := decodeRequest(body, &in); rep != nil {
		return *rep
	}
	if rep := required("username", in.Username, "oldPassword", in.OldPassword.Reveal(), "newPassword", in.NewPassword.Reveal()); rep != nil {
		return *rep
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.checkPassword(in.Username, in.OldPassword.Reveal())
	if !ok {
		return unauthenticated(msgBadCredentials)
	}
	reasons := e.policyViolations(in.Username, in.NewPassword.Reveal())
	if in.NewPassword == in.OldPassword {
		reasons = append(reasons, "must differ from the old password")
	}
	if len(reasons) > 0 {
		return policyError("newPassword", reasons)
	}
	u.password = e.hashPassword(in.NewPassword.Reveal())
	return jsonReply(http.StatusOK, struct{}{})
}

// msgBadCredentials is the one answer for an unknown user or a wrong password.
const msgBadCredentials = "invalid username or password"
