package isv_test

import (
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/keyring"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/isv"
)

// compile-time checks (in a test, so that isv links no backend): the keystore backends are Stores.
var (
	_ isv.Store = (*redis.Store)(nil)
	_ isv.Store = (*file.Store)(nil)
	_ isv.Store = (*keystore.Memory)(nil)
	_ isv.Store = (*keyring.Store)(nil)
)
