package traderapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Register creates the account named by the registration token, with the
// chosen password. It is a one-time operation.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (*Result, error) {
	if req.Token == "" || req.Password == "" {
		return nil, errors.New("traderapi: register needs a registration token and a password")
	}
	var out Result
	_, _, err := c.post(ctx, PathRegister, "", req, &out)
	return resultOrNil(&out, err)
}

// CheckPassword asks whether a password meets the exchange's policy. A nil
// error means it does; a rejection is an [*APIError] whose message says why.
func (c *Client) CheckPassword(ctx context.Context, req CheckPasswordRequest) (*Result, error) {
	var out Result
	_, _, err := c.post(ctx, PathCheckPassword, "", req, &out)
	return resultOrNil(&out, err)
}

// Login exchanges username, password and (once MFA is on) an OTP code for a
// token pair. Without a code when one is needed, the error matches
// [ErrOTPRequired].
func (c *Client) Login(ctx context.Context, req LoginRequest) (*LoginResponse, error) {
	if req.Username == "" || req.Password == "" {
		return nil, errors.New("traderapi: login needs a username and a password")
	}
	var out LoginResponse
	sent, received, err := c.post(ctx, PathLogin, "", req, &out)
	if err != nil {
		return nil, err
	}
	out.SentAt, out.ReceivedAt = sent, received
	return &out, nil
}

// RefreshAccessToken exchanges a refresh token for a new access token.
func (c *Client) RefreshAccessToken(ctx context.Context, req RefreshRequest) (*RefreshResponse, error) {
	if req.RefreshToken == "" {
		return nil, errors.New("traderapi: refresh needs a refresh token")
	}
	var out RefreshResponse
	sent, received, err := c.post(ctx, PathRefresh, "", req, &out)
	if err != nil {
		return nil, err
	}
	out.SentAt, out.ReceivedAt = sent, received
	return &out, nil
}

// Logout revokes the token pair. The access token is also sent, raw, as the
// Authorization header, as the exchange requires.
func (c *Client) Logout(ctx context.Context, req LogoutRequest) error {
	if req.AccessToken == "" {
		return errors.New("traderapi: logout needs the access token")
	}
	_, _, err := c.post(ctx, PathLogout, req.AccessToken, req, &Result{})
	return err
}

// ChangePassword replaces the account's password.
func (c *Client) ChangePassword(ctx context.Context, req ChangePasswordRequest) (*Result, error) {
	if req.Username == "" || req.OldPassword == "" || req.NewPassword == "" {
		return nil, errors.New("traderapi: change_password needs a username, the old and the new password")
	}
	var out Result
	_, _, err := c.post(ctx, PathChangePassword, "", req, &out)
	return resultOrNil(&out, err)
}

// EnrollMFA starts TOTP enrollment and returns the otpauth:// URL to scan.
func (c *Client) EnrollMFA(ctx context.Context, req EnrollMFARequest) (*EnrollMFAResponse, error) {
	if req.Username == "" || req.Password == "" {
		return nil, errors.New("traderapi: enroll_mfa needs a username and a password")
	}
	var out EnrollMFAResponse
	if _, _, err := c.post(ctx, PathEnrollMFA, "", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfirmMFA completes enrollment with a code from the authenticator.
func (c *Client) ConfirmMFA(ctx context.Context, req ConfirmMFARequest) (*Result, error) {
	if req.Username == "" || req.Password == "" || req.OTP == "" {
		return nil, errors.New("traderapi: confirm_mfa needs a username, a password and an OTP code")
	}
	var out Result
	_, _, err := c.post(ctx, PathConfirmMFA, "", req, &out)
	return resultOrNil(&out, err)
}

func resultOrNil(r *Result, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

// validate reports what a login response lacks.
func (r *LoginResponse) validate() error {
	if err := checkToken("accessToken", r.AccessToken); err != nil {
		return err
	}
	return checkToken("refreshToken", r.RefreshToken)
}

// validate reports what a refresh response lacks.
func (r *RefreshResponse) validate() error {
	if err := checkToken("accessToken", r.AccessToken); err != nil {
		return err
	}
	if r.RefreshToken != "" {
		return checkToken("refreshToken", r.RefreshToken)
	}
	return nil
}

// validate reports an enrollment response without an otpauth URL.
func (r *EnrollMFAResponse) validate() error {
	if r.EnrollmentURL == "" {
		return errors.New(`the response has no "enrollmentUrl"`)
	}
	if !strings.HasPrefix(r.EnrollmentURL.Reveal(), "otpauth://") {
		return errors.New(`"enrollmentUrl" is not an otpauth:// URL`)
	}
	return nil
}

// checkToken rejects a missing token and one that cannot be sent as a header
// value or is a truncated JWT.
func checkToken(field string, tok Secret) error {
	s := tok.Reveal()
	if s == "" {
		return fmt.Errorf("the response has no %q", field)
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f {
			return fmt.Errorf("%q contains characters a token cannot have", field)
		}
	}
	if strings.HasPrefix(s, "eyJ") {
		parts := strings.Split(s, ".")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return fmt.Errorf("%q is not a complete JWT (%d of 3 parts); truncated?", field, len(parts))
		}
	}
	return nil
}
