package keystore_test

import (
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/storetest"
)

func BenchmarkMemorySetGet(b *testing.B) { storetest.Bench(b, keystore.NewMemory()) }

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	storetest.TestStore(t, func(*testing.T) keystore.Store { return keystore.NewMemory() })
}
