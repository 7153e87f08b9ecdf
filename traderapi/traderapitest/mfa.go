package traderapitest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TOTP parameters: those of Google Authenticator, which the exchange's
// enrollment URL names.
const (
	totpIssuer = "Polymarket Exchange"
	totpPeriod = 30
)

// newTOTPSecret generates a fresh TOTP key for username.
func newTOTPSecret(username string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: username, Period: totpPeriod})
}

// acceptOTP checks code against secret at the exchange clock, allowing one
// time step of skew either way, and rejects a code of a time step at or
// before the last one this user had accepted (RFC 6238 §5.2: an OTP is
// accepted once). e.mu must be held.
func (e *Exchange) acceptOTP(u *user, secret, code string) bool {
	if len(code) != 6 {
		return false
	}
	now := e.now()
	step := now.Unix() / totpPeriod
	for _, s := range []int64{step, step - 1, step + 1} {
		if s <= u.lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
		})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			u.lastStep = s
			return true
		}
	}
	return false
}

// serveEnrollMFA checks the password and hands out a fresh TOTP secret as an
// otpauth:// URL. MFA stays off until confirm_mfa.
func (e *Exchange) serveEnrollMFA(_ *http.Request, body []byte) reply {
	return e.withUser(body, false, func(_ credentials, u *user) reply {
		if u.mfaSecret != "" {
			return failedPrecondition("mfa is already enabled for this user")
		}
		key, err := newTOTPSecret(u.name)
		if err != nil {
			return rpcError(http.StatusInternalServerError, 13, "generating the TOTP secret failed")
		}
		u.pendingSecret = key.Secret()
		return jsonReply(http.StatusOK, map[string]string{"enrollmentUrl": key.URL()})
	})
}

// serveConfirmMFA turns MFA on once a code of the pending secret checks out.
func (e *Exchange) serveConfirmMFA(_ *http.Request, body []byte) reply {
	return e.withUser(body, true, func(in credentials, u *user) reply {
		if u.pendingSecret == "" {
			if u.mfaSecret != "" {
				return failedPrecondition("mfa is already enabled for this user")
			}
			return failedPrecondition("no mfa enrollment pending: call enroll_mfa first")
		}
		if !e.acceptOTP(u, u.pendingSecret, in.OTP.Reveal()) {
			return unauthenticated("invalid otp")
		}
		u.mfaSecret, u.pendingSecret = u.pendingSecret, ""
		return jsonReply(http.StatusOK, struct{}{})
	})
}

// MFAEnabled reports whether username has confirmed MFA.
func (e *Exchange) MFAEnabled(username string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[username]
	return ok && u.mfaSecret != ""
}

// EnableMFA turns MFA on for username directly, as enroll and confirm would,
// and returns the enrollment URL (otpauth://...), as enroll_mfa hands it
// out: what mfa.SaveSecret stores and an authenticator scans. Its secret
// parameter is the base32 secret ([otp.NewKeyFromURL]).
func (e *Exchange) EnableMFA(username string) (traderapi.Secret, error) {
	key, err := newTOTPSecret(username)
	if err != nil {
		return "", fmt.Errorf("traderapitest: EnableMFA: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[username]
	if !ok {
		return "", fmt.Errorf("traderapitest: EnableMFA: no user %q", username)
	}
	u.mfaSecret, u.pendingSecret = key.Secret(), ""
	return traderapi.Secret(key.URL()), nil
}

// OTP returns the code of username's active TOTP secret at the exchange
// clock. A code is accepted once: for a second login with MFA, move the
// clock on by 30 seconds ([Exchange.Advance]) first.
func (e *Exchange) OTP(username string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[username]
	if !ok || u.mfaSecret == "" {
		return "", fmt.Errorf("traderapitest: OTP: user %q does not exist or has no MFA", username)
	}
	return totp.GenerateCode(u.mfaSecret, e.now())
}
