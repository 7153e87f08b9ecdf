package keyring

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/storetest"
)

// BenchmarkKeyringSetGet needs a Secret Service (.ci/keyring-session.sh).
func BenchmarkKeyringSetGet(b *testing.B) {
	if os.Getenv("PMX_KEYRING_TESTS") != "required" {
		b.Skip("needs a Secret Service: run under .ci/keyring-session.sh")
	}
	storetest.Bench(b, New(WithServicePrefix("pmx-login-bench"), WithLockDir(filepath.Join(b.TempDir(), "locks"))))
}

// TestKeyringAdapterConformance runs the suite through the Store's own
// logic (service names, last user, encoding, size, error mapping) with a
// map in place of go-keyring, on every machine; TestKeyringConformance
// runs it against a real Secret Service.
func TestKeyringAdapterConformance(t *testing.T) {
	t.Parallel()
	storetest.TestStore(t, func(t *testing.T) keystore.Store {
		return New(withSecrets(newMapSecrets()), WithLockDir(filepath.Join(t.TempDir(), "locks")))
	})
}

func TestKeyringConformance(t *testing.T) {
	t.Parallel()
	realKeyring(t)
	storetest.TestStore(t, func(t *testing.T) keystore.Store {
		return New(WithServicePrefix("pmx-login-test"), WithLockDir(filepath.Join(t.TempDir(), "locks")))
	})
}
