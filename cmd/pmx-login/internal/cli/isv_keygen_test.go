package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/session/isv"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// keygen writes a 0600 private key and a 0644 public key that belong
// together, prints paths and thumbprint but no key, never overwrites, and
// the pair works once the public key is registered.
func TestISVKeygen(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	name := filepath.Join(t.TempDir(), "acme_preprod")
	r := f.run(t, "", "isv", "keygen", "--out", name)
	wantCode(t, r, 0)
	priv, pub := name+"_private_key.pem", name+"_public_key.pem"
	for p, mode := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), mode)
		}
	}
	key, err := isv.LoadPrivateKeyFile(priv)
	if err != nil {
		t.Fatalf("the private key does not load: %v", err)
	}
	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := isvkit.PublicKeyMatches(key, pubPEM); !ok || err != nil {
		t.Fatalf("the public key is not the private key's: %v %v", ok, err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("%d bits", key.N.BitLen())
	}
	thumb := isvkit.Thumbprint(&key.PublicKey)
	for _, want := range []string{priv, pub, thumb, "onboarding", "isv token --env preprod --client-id ID --key " + priv} {
		if !strings.Contains(r.out, want) {
			t.Errorf("keygen output lacks %q:\n%s", want, r.out)
		}
	}
	privPEM, _ := os.ReadFile(priv)
	for _, line := range strings.Split(string(privPEM)+string(pubPEM), "\n")[1:3] {
		if strings.Contains(r.out+r.err, line) {
			t.Errorf("keygen printed key material:\n%s", r.out)
		}
	}

	again := f.run(t, "", "isv", "keygen", "--out", name)
	wantCode(t, again, 2, "already exists")
	if after, _ := os.ReadFile(priv); !bytes.Equal(after, privPEM) {
		t.Fatal("a second keygen changed the private key")
	}

	pubKey, err := isvkit.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	f.auth.RegisterClient("new-client", pubKey, []string{"read:positions"})
	tok := f.run(t, "", "isv", "token", "--client-id", "new-client", "--key", priv)
	wantCode(t, tok, 0)
	if _, err := f.auth.VerifyAccessToken(strings.TrimSpace(tok.out)); err != nil {
		t.Fatalf("a token with the generated key: %v", err)
	}

	j := f.run(t, "", "isv", "keygen", "--out", name+"2", "--json")
	wantCode(t, j, 0)
	var out map[string]any
	if err := json.Unmarshal([]byte(j.out), &out); err != nil || out["private_key"] != name+"2_private_key.pem" ||
		out["public_key"] != name+"2_public_key.pem" || out["bits"] != 2048.0 || out["thumbprint"] == "" {
		t.Errorf("--json: %v %v", out, err)
	}
}

func TestISVKeygenUsage(t *testing.T) {
	t.Parallel()
	f := isvSetup(t, traderapitest.AuthOptions{})
	dir := t.TempDir()
	// Only the public file exists: keygen refuses before writing anything.
	lone := filepath.Join(dir, "lone")
	if err := os.WriteFile(lone+"_public_key.pem", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "give --out NAME"},
		{[]string{"--out", dir}, "is a directory"},
		{[]string{"--out", filepath.Join(dir, "k"), "--bits", "1024"}, "2048, 3072 or 4096"},
		{[]string{"--out", lone}, "lone_public_key.pem already exists"},
	} {
		r := f.run(t, "", append([]string{"isv", "keygen"}, tt.args...)...)
		wantCode(t, r, 2, tt.want)
	}
	if _, err := os.Stat(lone + "_private_key.pem"); err == nil {
		t.Error("keygen wrote a private key next to an existing public key")
	}
	r := f.run(t, "", "isv", "keygen", "--out", filepath.Join(dir, "missing-dir", "k"))
	wantCode(t, r, 1, "no such file or directory")
}
