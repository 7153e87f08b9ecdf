package isvkit

import (
	"strings"
	"testing"
	"time"
)

func TestSignAssertionRefusesBadClaims(t *testing.T) {
	t.Parallel()
	key, err := GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	good := AssertionClaims{ClientID: "c", Audience: "https://a/oauth/token", IssuedAt: time.Now(), Lifetime: time.Minute, ID: "j"}
	if _, err := SignAssertion(key, good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(*AssertionClaims)
		want string
	}{
		{func(c *AssertionClaims) { c.ClientID = "" }, "ClientID"},
		{func(c *AssertionClaims) { c.Audience = "" }, "Audience"},
		{func(c *AssertionClaims) { c.ID = "" }, "jti"},
		{func(c *AssertionClaims) { c.IssuedAt = time.Time{} }, "iat"},
		{func(c *AssertionClaims) { c.Lifetime = 301 * time.Second }, "lifetime"},
		{func(c *AssertionClaims) { c.Lifetime = 0 }, "lifetime"},
		{func(c *AssertionClaims) { c.Lifetime = 1500 * time.Millisecond }, "whole number"},
	} {
		c := good
		tc.edit(&c)
		if _, err := SignAssertion(key, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SignAssertion(%+v) = %v, want an error naming %q", c, err, tc.want)
		}
	}
	if _, err := SignAssertion(nil, good); err == nil {
		t.Error("SignAssertion with no key succeeded")
	}
}
