package file

import (
	"os"
	"path/filepath"
	"testing"
)

// benchStore measures one Set and one Get of a full session record.
func benchStore(b *testing.B, s keystore.Store) {
	k := keystore.Key{Environment: uniqueEnv("bench"), Username: "alice"}
	r := testRecord("", "")
	b.Cleanup(func() { _ = s.Delete(b.Context(), k) })
	for b.Loop() {
		if err := s.Set(b.Context(), k, r); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(b.Context(), k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileSetGet(b *testing.B) {
	f, err := New(b.TempDir() + "/pmx-login")
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, f)
}

func BenchmarkMemorySetGet(b *testing.B) { benchStore(b, keystore.NewMemory()) }

// BenchmarkKeyringSetGet needs a Secret Service (.ci/keyring-session.sh).
func BenchmarkKeyringSetGet(b *testing.B) {
	if os.Getenv("PMX_KEYRING_TESTS") != "required" {
		b.Skip("needs a Secret Service: run under .ci/keyring-session.sh")
	}
	benchStore(b, NewKeyring(WithServicePrefix("pmx-login-bench"), WithLockDir(filepath.Join(b.TempDir(), "locks"))))
}
