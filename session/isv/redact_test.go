package isv

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// Neither the private key nor a token appears in %v, %+v, %#v, %s, %q or
// slog output of a Config or a Source, nor in the logs of a failed refresh.
func TestNothingSecretIsPrinted(t *testing.T) {
	t.Parallel()
	tb := setup(t, traderapitest.AuthOptions{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := tb.config(func(c *Config) { c.Logger = logger })
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	tok := mustToken(t, src)
	assertion, err := src.assertion()
	if err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	for _, v := range []any{cfg, &cfg, src} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	logger.Info("config", "cfg", cfg, "source", src)
	tb.auth.FailNext(1, 401)
	src.Invalidate(tok)
	_, tokErr := src.Token(t.Context())
	if tokErr == nil {
		t.Fatal("the injected failure did not happen")
	}
	fmt.Fprintf(&out, "%v %+v %#v\n", tokErr, tokErr, errors.Unwrap(tokErr))
	out.Write(logs.Bytes())

	text := out.String()
	secrets := map[string]string{
		"access token":          tok.Reveal(),
		"client assertion":      assertion,
		"private exponent":      tb.key.D.String(),
		"private exponent hex":  tb.key.D.Text(16),
		"prime":                 tb.key.Primes[0].String(),
		"PEM":                   "PRIVATE KEY",
		"marshalled key prefix": string(isvkit.MarshalPrivateKeyPEM(tb.key)[32:64]),
	}
	for what, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("the %s appears in printed output", what)
		}
	}
	for _, want := range []string{testClientID, "RSA-2048[", `"level":"WARN"`, "token request failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed output lacks %q (is the test printing anything?)", want)
		}
	}
}
