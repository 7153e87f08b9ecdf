package mfa

import (
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// testTime is a fixed moment for codes.
var testTime = time.Unix(1700000000, 0)

// secretOf makes a traderapi.Secret of s.
func secretOf(s string) traderapi.Secret { return traderapi.Secret(s) }
