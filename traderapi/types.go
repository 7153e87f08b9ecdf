package traderapi

import (
	"encoding/json"
	"time"
)

// The paths of the v1beta1 endpoints, relative to the base URL.
const (
	PathRegister       = "/auth/v1beta1/register"
	PathCheckPassword  = "/auth/v1beta1/check_password"
	PathLogin          = "/auth/v1beta1/login"
	PathRefresh        = "/auth/v1beta1/refresh_access_token"
	PathLogout         = "/auth/v1beta1/logout"
	PathChangePassword = "/auth/v1beta1/change_password"
	PathEnrollMFA      = "/auth/v1beta1/enroll_mfa"
	PathConfirmMFA     = "/auth/v1beta1/confirm_mfa"
	// PathInsertOrder is a sample trading endpoint; it takes the raw access
	// token in the Authorization header.
	PathInsertOrder = "/api/v1beta1/insert_order"
)

// RegisterRequest is the body of register: the one-time registration JWT
// from the account manager and the chosen password.
type RegisterRequest struct {
	Token    Secret `json:"token"`
	Password Secret `json:"password"`
}

// CheckPasswordRequest is the body of check_password.
type CheckPasswordRequest struct {
	Password Secret `json:"password"`
}

// LoginRequest is the body of login. OTP is sent only when set.
type LoginRequest struct {
	Username string `json:"username"`
	Password Secret `json:"password"`
	OTP      Secret `json:"otp,omitempty"`
}

// LoginResponse is the token pair login returns. Times are the server's.
type LoginResponse struct {
	AccessToken           Secret    `json:"accessToken"`
	RefreshToken          Secret    `json:"refreshToken"`
	AccessIssueTime       time.Time `json:"accessIssueTime"`
	AccessExpirationTime  time.Time `json:"accessExpirationTime"`
	RefreshIssueTime      time.Time `json:"refreshIssueTime"`
	RefreshExpirationTime time.Time `json:"refreshExpirationTime"`

	// SentAt is the client's clock ([WithClock], with its monotonic
	// reading) right before the request was sent. The token's lifetime
	// counts from no later than this, so expiry measured from SentAt is
	// never late, whatever the request's round trip. Set by the client, not
	// decoded.
	SentAt time.Time `json:"-"`
	// ReceivedAt is the local time (with its monotonic reading) at which the
	// response arrived. It is set by the client, not decoded.
	ReceivedAt time.Time `json:"-"`
}

// RefreshRequest is the body of refresh_access_token.
type RefreshRequest struct {
	RefreshToken Secret `json:"refreshToken"`
}

// RefreshResponse is what refresh_access_token returns: a new access token.
// The documents show no new refresh token; if the server rotates it anyway,
// RefreshToken and its times are set.
type RefreshResponse struct {
	AccessToken           Secret    `json:"accessToken"`
	AccessIssueTime       time.Time `json:"accessIssueTime"`
	AccessExpirationTime  time.Time `json:"accessExpirationTime"`
	RefreshToken          Secret    `json:"refreshToken,omitempty"`
	RefreshIssueTime      time.Time `json:"refreshIssueTime"`
	RefreshExpirationTime time.Time `json:"refreshExpirationTime"`

	// SentAt is the client's clock ([WithClock], with its monotonic
	// reading) right before the request was sent. The token's lifetime
	// counts from no later than this, so expiry measured from SentAt is
	// never late, whatever the request's round trip. Set by the client, not
	// decoded.
	SentAt time.Time `json:"-"`
	// ReceivedAt is the local time (with its monotonic reading) at which the
	// response arrived. It is set by the client, not decoded.
	ReceivedAt time.Time `json:"-"`
}

// LogoutRequest is the body of logout; the access token is also sent as the
// Authorization header.
type LogoutRequest struct {
	AccessToken  Secret `json:"accessToken"`
	RefreshToken Secret `json:"refreshToken"`
}

// ChangePasswordRequest is the body of change_password.
type ChangePasswordRequest struct {
	Username    string `json:"username"`
	OldPassword Secret `json:"oldPassword"`
	NewPassword Secret `json:"newPassword"`
}

// EnrollMFARequest is the body of enroll_mfa.
type EnrollMFARequest struct {
	Username string `json:"username"`
	Password Secret `json:"password"`
}

// EnrollMFAResponse carries the otpauth:// URL to show as a QR code. The URL
// holds the TOTP secret, so it is a [Secret].
type EnrollMFAResponse struct {
	EnrollmentURL Secret `json:"enrollmentUrl"`
}

// ConfirmMFARequest is the body of confirm_mfa.
type ConfirmMFARequest struct {
	Username string `json:"username"`
	Password Secret `json:"password"`
	OTP      Secret `json:"otp"`
}

// Result is the body of an endpoint whose response the documents leave open
// (register, check_password, confirm_mfa, change_password, logout): any 2xx
// JSON object is success, and whatever of these fields it carries is kept.
type Result struct {
	// Username is the "username" field, if present (register).
	Username string
	// Message is the "message" or "status" field, if present.
	Message string
	// Reasons are the strings of a "reasons", "errors", "warnings" or
	// "violations" list, if present (check_password).
	Reasons []string
}

// UnmarshalJSON decodes the fields of [Result] from any JSON object.
func (r *Result) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	str := func(key string) string {
		var s string
		if v, ok := raw[key]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	r.Username = str("username")
	if r.Message = str("message"); r.Message == "" {
		r.Message = str("status")
	}
	for _, key := range []string{"reasons", "errors", "warnings", "violations"} {
		var list []string
		if v, ok := raw[key]; ok && json.Unmarshal(v, &list) == nil {
			r.Reasons = append(r.Reasons, list...)
		}
	}
	return nil
}
