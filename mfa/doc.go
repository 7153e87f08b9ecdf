// Package mfa is pmx-login's TOTP second factor: enrolling an account
// (enroll_mfa and confirm_mfa), showing the enrollment as a QR code, checking
// the codes a user types, and producing codes without a user.
//
// # Enrollment
//
// [Enroll] calls enroll_mfa and parses the otpauth:// URL the exchange
// returns with [ParseURL] into an [Enrollment]: issuer, account, period,
// digits, algorithm and the base32 secret. [WriteTerminalQR] shows it as a
// QR code made of Unicode half blocks, in forced black on white so that a
// phone camera reads it on dark and light terminal themes alike; [WritePNG]
// writes it as a PNG file readable only by its owner. The QR matrix comes
// from github.com/boombuler/barcode/qr (the encoder behind pquerna/otp's
// Key.Image), read at one pixel per module so that the terminal and PNG
// renderings add their own quiet zone of 4 modules. [Confirm] sends the
// first code to confirm_mfa, which turns MFA on.
//
// # Codes
//
// [ValidateCode] checks a code a user typed (digits only, the enrolled
// length; spaces such as in "123 456" are ignored). A [CodeSource] hands out
// codes for login: a [Generator] computes them from a stored secret with
// totp.GenerateCodeCustom, for unattended bots, and a [CommandSource] runs
// the user's PMX_OTP_COMMAND (as aws-vault's mfa_process) and reads the code
// from its standard output, for users whose second factor lives in a
// password manager. The exchange accepts a code once per time window, so a
// [Generator] never hands out the same window twice: asked again within a
// window, it waits for the next one.
//
// Keeping the TOTP secret beside the session puts both factors in one place;
// a CLI offering it shows [StoreSecretWarning] first.
//
// # Secrets
//
// The TOTP secret, the enrollment URL and every code are held in
// [traderapi.Secret]; an [Enrollment], a [Generator] and a [CommandSource]
// print and log without them, with every fmt verb and through log/slog.
// Errors never contain them.
package mfa
