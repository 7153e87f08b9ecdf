package mfa

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// requireTool returns the path of name, skipping the test when it is not
// installed, unless PMX_REQUIRE_TOOLS=1 (as in CI), which fails it instead.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("PMX_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is not installed, and PMX_REQUIRE_TOOLS=1: %v", name, err)
	}
	skipTool(t, name+" is not installed", "apt-get install "+name+", then go test -count=1 ./mfa/")
	return ""
}

// TestGeneratorMatchesOathtool compares the Generator's codes with those of
// Debian's oathtool for the same secret and time, across secret lengths,
// algorithms, digit counts and periods.
func TestGeneratorMatchesOathtool(t *testing.T) {
	t.Parallel()
	oathtool := requireTool(t, "oathtool")
	secrets := []string{testSecret, strings.ToLower(randomSecret(t, 10))}
	for _, n := range []int{20, 32, 64} {
		secrets = append(secrets, randomSecret(t, n))
	}
	configs := []struct {
		alg    otp.Algorithm
		digits otp.Digits
		period uint
	}{
		{otp.AlgorithmSHA1, 6, 30},
		{otp.AlgorithmSHA1, 8, 30},
		{otp.AlgorithmSHA256, 6, 30},
		{otp.AlgorithmSHA512, 8, 60},
	}
	times := []int64{59, 1111111109, 1700000015, 2000000000, time.Now().Unix()}
	compared := 0
	for _, secret := range secrets {
		for _, c := range configs {
			u := fmt.Sprintf("otpauth://totp/test:bot?secret=%s&algorithm=%s&digits=%d&period=%d",
				secret, algorithmName(c.alg), c.digits, c.period)
			g, err := GeneratorFromURL(secretOf(u))
			if err != nil {
				t.Fatalf("GeneratorFromURL: %v", err)
			}
			for _, unix := range times {
				at := time.Unix(unix, 0).UTC()
				out, err := exec.Command(oathtool, "--totp="+algorithmName(c.alg), "-b", "-d", fmt.Sprint(int(c.digits)),
					"-s", fmt.Sprintf("%ds", c.period), "--now", at.Format("2006-01-02 15:04:05 UTC"), secret).Output()
				if err != nil {
					t.Fatalf("oathtool (%s, %d digits, %ds, %s): %v", algorithmName(c.alg), c.digits, c.period, at, err)
				}
				want := strings.TrimSpace(string(out))
				got, err := g.At(at)
				if err != nil || got.Reveal() != want {
					t.Errorf("%d-byte secret, %s, %d digits, %ds at %s: Generator = %q, %v; oathtool = %q",
						len(secret)*5/8, algorithmName(c.alg), c.digits, c.period, at, got.Reveal(), err, want)
				}
				compared++
			}
		}
	}
	if compared != len(secrets)*len(configs)*len(times) {
		t.Errorf("compared %d codes; want %d", compared, len(secrets)*len(configs)*len(times))
	}
}

// randomSecret returns n random bytes in unpadded base32.
func randomSecret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}
