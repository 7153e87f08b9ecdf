package mfa_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pmx-login/pmx-login/mfa"
)

// A bot's codes from a stored otpauth:// URL, here with the secret and a
// time of RFC 6238's test vectors. The enrollment prints without its secret.
func ExampleGenerator() {
	e, err := mfa.ParseURL("otpauth://totp/Polymarket%20Exchange:bot?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)

	clock := time.Unix(1111111109, 0)
	g, err := mfa.NewGenerator(e,
		mfa.WithClock(func() time.Time { return clock }),
		mfa.WithSleep(func(_ context.Context, d time.Duration) error {
			fmt.Println("waiting", d, "for the next window")
			clock = clock.Add(d)
			return nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		code, err := g.Code(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(code.Reveal())
	}
	// Output:
	// mfa.Enrollment{Issuer: "Polymarket Exchange", Account: "bot", Period: 30s, Digits: 8, Algorithm: SHA1, Secret: [REDACTED]}
	// 07081804
	// waiting 1s for the next window
	// 14050471
}

func ExampleValidateCode() {
	code, err := mfa.ValidateCode(" 123 456\n", 6)
	fmt.Println(code, err)
	_, err = mfa.ValidateCode("12345", 6)
	fmt.Println(err)
	// Output:
	// [REDACTED] <nil>
	// mfa: the code has 5 digits; your authenticator shows 6
}
