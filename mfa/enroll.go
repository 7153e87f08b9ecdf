package mfa

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/pmx-login/pmx-login/traderapi"
)

// API is the part of the exchange enrollment needs; [*traderapi.Client]
// implements it.
type API interface {
	EnrollMFA(ctx context.Context, req traderapi.EnrollMFARequest) (*traderapi.EnrollMFAResponse, error)
	ConfirmMFA(ctx context.Context, req traderapi.ConfirmMFARequest) (*traderapi.Result, error)
}

// ErrCodeRejected matches the error of [Confirm] when the exchange turned the
// code down (wrong, expired, or already used).
var ErrCodeRejected = errors.New("the exchange rejected the code")

// Enroll starts TOTP enrollment for username: it calls enroll_mfa and parses
// the otpauth:// URL the exchange returns. MFA is not on until [Confirm].
func Enroll(ctx context.Context, api API, username string, password traderapi.Secret) (*Enrollment, error) {
	if api == nil {
		return nil, errors.New("mfa: Enroll: no exchange client")
	}
	if username == "" || password.IsZero() {
		return nil, errors.New("mfa: enrolling needs the username and the password")
	}
	resp, err := api.EnrollMFA(ctx, traderapi.EnrollMFARequest{Username: username, Password: password})
	if err != nil {
		return nil, fmt.Errorf("mfa: enroll_mfa: %w", err)
	}
	if resp == nil || resp.EnrollmentURL.IsZero() {
		return nil, fmt.Errorf("mfa: enroll_mfa returned no enrollment URL: %w", traderapi.ErrMalformedResponse)
	}
	e, err := ParseURL(resp.EnrollmentURL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("mfa: enroll_mfa returned an unusable enrollment URL: %w (%w)", err, traderapi.ErrMalformedResponse)
	}
	return e, nil
}

// Confirm completes enrollment with the first code from the user's
// authenticator (checked by [ValidateCode]; 6 or 8 digits), turning MFA on.
// A code the exchange turns down gives an error matching [ErrCodeRejected]
// as well as the exchange's [*traderapi.APIError].
func Confirm(ctx context.Context, api API, username string, password, code traderapi.Secret) error {
	if api == nil {
		return errors.New("mfa: Confirm: no exchange client")
	}
	if username == "" || password.IsZero() {
		return errors.New("mfa: confirming needs the username and the password")
	}
	otpCode, err := ValidateCode(code.Reveal(), 0)
	if err != nil {
		return err
	}
	_, err = api.ConfirmMFA(ctx, traderapi.ConfirmMFARequest{Username: username, Password: password, OTP: otpCode})
	switch {
	case err == nil:
		return nil
	case codeRejected(err):
		return &rejectedError{err: err}
	}
	return fmt.Errorf("mfa: confirm_mfa: %w", err)
}

// codeRejected reports a 401 about the OTP: the exchange's answer to a wrong
// or reused code. (A 400 naming MFA, such as "mfa is already enabled", is
// not about the code.)
func codeRejected(err error) bool {
	var ae *traderapi.APIError
	return errors.As(err, &ae) && errors.Is(ae, traderapi.ErrUnauthorized) && errors.Is(ae, traderapi.ErrOTPRequired)
}

// rejectedError is a code the exchange turned down at confirm_mfa. Its text
// is what happened (the exchange's own words may speak of login); it
// matches [ErrCodeRejected] and unwraps to the exchange's error.
type rejectedError struct{ err error }

func (e *rejectedError) Error() string {
	msg := "invalid code"
	if ae, ok := errors.AsType[*traderapi.APIError](e.err); ok {
		msg = fmt.Sprintf("%d %s", ae.StatusCode, cmp.Or(ae.Message, ae.ErrorCode, "invalid code"))
	}
	return "mfa: confirm_mfa: " + ErrCodeRejected.Error() + " (" + msg + ")"
}

func (e *rejectedError) Unwrap() []error { return []error{ErrCodeRejected, e.err} }
