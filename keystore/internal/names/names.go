// Package names checks the environment names and usernames that keystore
// keys hold, for the core and every backend.
package names

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// maxUsername caps a username's length in bytes.
const maxUsername = 256

// maxEnvironment caps an environment name's length in bytes.
const maxEnvironment = 64

// CheckEnvironment checks an environment name: it becomes part of a keychain
// service name and a directory name, so it may not hold ':' or '/'.
func CheckEnvironment(env string) error {
	if env == "" {
		return errors.New("keystore: no environment given (example: preprod)")
	}
	if len(env) > maxEnvironment {
		return fmt.Errorf("keystore: environment name is %d bytes, over the limit of %d", len(env), maxEnvironment)
	}
	for i, c := range env {
		alnum := c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c))
		if alnum || (i > 0 && (c == '.' || c == '_' || c == '-')) {
			continue
		}
		return fmt.Errorf("keystore: environment %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", env)
	}
	return nil
}

// CheckUsername checks a username: any printable UTF-8, bounded.
func CheckUsername(user string) error {
	if user == "" {
		return errors.New("keystore: no username given")
	}
	if len(user) > maxUsername {
		return fmt.Errorf("keystore: username is %d bytes, over the limit of %d", len(user), maxUsername)
	}
	if !utf8.ValidString(user) {
		return errors.New("keystore: username is not valid UTF-8")
	}
	for _, c := range user {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("keystore: username %q holds a control or non-printing character", user)
		}
	}
	return nil
}
