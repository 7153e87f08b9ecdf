package file

import (
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/storetest"
)

func BenchmarkFileSetGet(b *testing.B) {
	f, err := New(b.TempDir() + "/pmx-login")
	if err != nil {
		b.Fatal(err)
	}
	storetest.Bench(b, f)
}

func TestFileConformance(t *testing.T) {
	t.Parallel()
	storetest.TestStore(t, func(t *testing.T) keystore.Store { return newFile(t) })
}
