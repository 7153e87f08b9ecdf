package keyring

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// Keychain size limits, as go-keyring enforces them.
const (
	// windowsSecretLimit is the most bytes Windows Credential Manager takes
	// as a secret.
	windowsSecretLimit = 2560
	// darwinCommandLimit is the most bytes of the `security -i` command
	// line go-keyring writes on macOS ("add-generic-password -U -s SERVICE
	// -a USER -w go-keyring-base64:BASE64"): about 3000 bytes for the
	// secret, service and user together.
	darwinCommandLimit = 4096
)

// keychainLimit checks an encoded record against the keychain of goos. It
// returns "" when the record fits, else a description of the limit.
func keychainLimit(goos, service, user string, secret []byte) string {
	switch goos {
	case "windows":
		if len(secret) > windowsSecretLimit {
			return fmt.Sprintf("the Windows Credential Manager limit of %d bytes", windowsSecretLimit)
		}
	case "darwin":
		if darwinCommandLen(service, user, secret) > darwinCommandLimit {
			return "the macOS keychain limit of about 3000 bytes for record, service and user together"
		}
	}
	return ""
}

// darwinCommandLen is the length of the command go-keyring writes to
// `security -i` on macOS, quoting as its shellescape dependency does.
func darwinCommandLen(service, user string, secret []byte) int {
	pw := "go-keyring-base64:" + base64.StdEncoding.EncodeToString(secret)
	return len("add-generic-password -U -s ") + shellQuotedLen(service) +
		len(" -a ") + shellQuotedLen(user) + len(" -w ") + shellQuotedLen(pw) + len("\n")
}

// shellQuotedLen is the length of s after POSIX shell quoting: unchanged
// when every byte is safe, else in single quotes with each quote as '"'"'.
func shellQuotedLen(s string) int {
	if s == "" {
		return 2
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return len(s)
	}
	return 2 + len(s) + 4*strings.Count(s, "'")
}

// fitRecord encodes r for the keychain of goos under service and user. When
// the record is too large it drops the cached access token; when it is
// still too large it returns an error matching [keystore.ErrTooLarge] that names the
// limit.
func fitRecord(goos, service, user string, r keystore.Record) ([]byte, error) {
	b, err := keystore.Encode(&r)
	if err != nil {
		return nil, err
	}
	limit := keychainLimit(goos, service, user, b)
	if limit == "" {
		return b, nil
	}
	if !r.AccessToken.IsZero() || !r.AccessExpiry.IsZero() {
		small := r
		small.AccessToken, small.AccessExpiry = "", time.Time{}
		if b, err = keystore.Encode(&small); err != nil {
			return nil, err
		}
		if keychainLimit(goos, service, user, b) == "" {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: the record for %s/%s is %d bytes without the cached access token, over %s",
		keystore.ErrTooLarge, r.Environment, r.Username, len(b), limit)
}
