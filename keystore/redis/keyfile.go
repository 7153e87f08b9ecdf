package redis

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/pmx-login/pmx-login/internal/newfile"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/securefs"
)

// keySize is the size of a record encryption key: AES-256.
const keySize = 32

// maxKeyFile caps what [LoadKeyFile] reads: a key file is one line of 44
// base64 characters.
const maxKeyFile = 1 << 10

// LoadKeyFile reads a record encryption key from path: 32 random bytes in
// standard base64 on one line (a final newline is allowed), in a regular
// file that only its owner can access (mode 0600 or 0400; a mounted
// Kubernetes Secret needs defaultMode 0400), owned by the user running
// the program or by root. A FIFO or device at the path is refused at once,
// never waited on. Errors name the file, never
// its content; a file that group or others can access matches
// [keystore.ErrInsecure].
func LoadKeyFile(path string) (*EncryptionKey, error) {
	f, err := securefs.OpenNonblocking(path)
	if err != nil {
		return nil, keyFileError(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, keyFileError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: Redis key file %s is not a regular file (%s)", keystore.ErrInsecure, path, fi.Mode().Type())
	}
	if err := securefs.CheckKeyOwner(path, fi); err != nil {
		return nil, err
	}
	if securefs.Insecure(fi.Mode()) {
		return nil, fmt.Errorf("%w: Redis key file %s can be accessed by others (mode %04o): it must be mode 0600 or 0400",
			keystore.ErrInsecure, path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, keyFileError(path, err)
	}
	return parseKeyFile(path, b)
}

// parseKeyFile decodes the content of a key file; errors never quote it.
func parseKeyFile(path string, b []byte) (*EncryptionKey, error) {
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("keystore: Redis key file %s is over %d bytes: it must hold one line of base64", path, maxKeyFile)
	}
	line := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if bytes.ContainsAny(line, "\r\n") {
		return nil, fmt.Errorf("keystore: Redis key file %s holds more than one line: it must hold one line of base64", path)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
	n, err := base64.StdEncoding.Decode(raw, bytes.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("keystore: Redis key file %s is not standard base64", path)
	}
	if n != keySize {
		return nil, fmt.Errorf("keystore: Redis key file %s holds a %d-byte key, want %d bytes (32 random bytes in base64)", path, n, keySize)
	}
	return NewEncryptionKey(raw[:n], path)
}

// WriteKeyFile creates path holding a new random key, mode 0600, and
// returns the key. It never replaces an existing file: an existing path
// gives an error matching [fs.ErrExist].
func WriteKeyFile(path string) (*EncryptionKey, error) {
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("keystore: generating a key: %w", err)
	}
	key, err := NewEncryptionKey(raw, path)
	if err != nil {
		return nil, err
	}
	err = newfile.Write(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600)
	if err != nil {
		return nil, keyFileError(path, err)
	}
	return key, nil
}

// keyFileError says what went wrong with a key file, naming it.
func keyFileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("keystore: Redis key file %s does not exist: %w", path, fs.ErrNotExist)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("keystore: Redis key file %s already exists (a key file is never overwritten): %w", path, fs.ErrExist)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("keystore: Redis key file %s cannot be accessed: %w", path, fs.ErrPermission)
	}
	return fmt.Errorf("keystore: Redis key file %s: %w", path, err)
}
