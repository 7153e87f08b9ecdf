package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmx-login/pmx-login/keystore"
)

// checkAfter checks the keystore after run i of `pmx-login name` for user:
// the record is the one before or one the exchange issued in the run, the
// other records and the last user read back, and the directory holds only
// the keystore's files. It returns what the record is: "old", "new" or
// "none".
func (c *crashRig) checkAfter(i int, name, user string, before *keystore.Record, issuedBefore map[string]secretKind) string {
	t := c.t
	t.Helper()
	when := fmt.Sprintf("after run %d (%s)", i, name)
	after := c.record(user, when)
	for _, u := range crashUsers {
		c.record(u, when)
	}
	if _, err := c.store().LastUser(t.Context(), "preprod"); err != nil && !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("%s: the last user does not read back: %v", when, err)
	}
	fresh := map[string]bool{}
	for v := range c.ex.issued() {
		if _, ok := issuedBefore[v]; !ok {
			fresh[v] = true
		}
	}
	newAccess := after != nil && (after.AccessToken.IsZero() || fresh[after.AccessToken.Reveal()])
	outcome := "new"
	switch {
	case sameSession(after, before) && after == nil:
		outcome = "none"
	case sameSession(after, before):
		outcome = "old"
	case name == "login" && after != nil && fresh[after.RefreshToken.Reveal()] && newAccess:
	case name == "refresh" && after != nil && before != nil &&
		after.RefreshToken == before.RefreshToken && newAccess:
	case name == "logout" && after == nil:
		outcome = "removed"
	default:
		t.Fatalf("%s: the session of %s is neither the one before nor one the exchange issued in the run "+
			"(before: %t, after: %t, refresh token issued in the run: %t, access token issued in the run: %t)",
			when, user, before != nil, after != nil, after != nil && fresh[after.RefreshToken.Reveal()], newAccess)
	}
	if name == "refresh" && after == nil {
		t.Fatalf("%s: a killed refresh removed the session", when)
	}
	c.checkDir(when)
	return outcome
}

// sameSession reports whether a and b are both absent or hold the same
// tokens.
func sameSession(a, b *keystore.Record) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.RefreshToken == b.RefreshToken && a.AccessToken == b.AccessToken
}

// checkDir fails unless the environment's directory holds only session
// files, the last user, the lock and hidden temporary files (counted).
func (c *crashRig) checkDir(when string) {
	c.t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.cfg, "pmx-login", "preprod"))
	if errors.Is(err, fs.ErrNotExist) {
		return // nothing stored yet
	}
	if err != nil {
		c.t.Fatalf("%s: %v", when, err)
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "last-user" || strings.HasSuffix(n, ".lock"):
		case strings.HasPrefix(n, ".tmp-"):
			c.tempsSeen++
		case strings.HasSuffix(n, ".session.json") && isCrashUser(strings.TrimSuffix(n, ".session.json")):
		case strings.HasSuffix(n, ".otp-step.json") && isCrashUser(strings.TrimSuffix(n, ".otp-step.json")):
			// login's keystore check (a write and a delete) was killed
			// between the two: the record is valid and harmless.
		default:
			c.t.Errorf("%s: unexpected file %s in the keystore directory", when, n)
		}
	}
}

// temps returns the temporary files in the environment's directory.
func (c *crashRig) temps() []string {
	names, _ := filepath.Glob(filepath.Join(c.cfg, "pmx-login", "preprod", ".tmp-*"))
	return names
}

func isCrashUser(u string) bool { return slices.Contains(crashUsers, u) }
