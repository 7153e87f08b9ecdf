package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/internal/newfile"
)

type isvKeygenOptions struct {
	*app
	out  string
	bits int
}

func isvKeygenCommand() command {
	return command{
		name:    "isv keygen",
		args:    "--out NAME [--bits 2048]",
		summary: "Create an ISV partner's RSA key pair: the public key is for onboarding",
		long: `Writes NAME_private_key.pem (PKCS#1 PEM, mode 0600) and NAME_public_key.pem (PKIX
PEM, mode 0644), as 'openssl genrsa' and 'openssl rsa -pubout' do, and prints their
paths and the key's RFC 7638 thumbprint; never the key. It refuses to overwrite
either file. Hand the public key to Polymarket at onboarding and keep the private
one secret: each environment needs its own pair (NAME acme_preprod, acme_prod).`,
		example: `pmx-login isv keygen --out acme_preprod
pmx-login isv keygen --out ~/.config/pmx/acme_prod --json`,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &isvKeygenOptions{app: a}
			fs.StringVar(&o.out, "out", "", "write `NAME`_private_key.pem and NAME_public_key.pem (NAME may include a directory)")
			fs.IntVar(&o.bits, "bits", isvkit.MinKeyBits, "RSA key size: 2048 (as onboarding asks), 3072 or 4096")
			return func(context.Context) error { return runISVKeygen(o) }
		},
	}
}

func runISVKeygen(o *isvKeygenOptions) error {
	if o.out == "" {
		return usageErrorf(o.cmd, "give --out NAME: the key pair is written to NAME_private_key.pem and NAME_public_key.pem")
	}
	switch o.bits {
	case 2048, 3072, 4096:
	default:
		return usageErrorf(o.cmd, "--bits %d: use 2048, 3072 or 4096", o.bits)
	}
	if fi, err := os.Stat(o.out); err == nil && fi.IsDir() || strings.HasSuffix(o.out, string(os.PathSeparator)) {
		return usageErrorf(o.cmd, "--out %s is a directory: give a name prefix such as %s", o.out,
			strings.TrimRight(o.out, string(os.PathSeparator))+string(os.PathSeparator)+"acme_preprod")
	}
	privPath, pubPath := o.out+"_private_key.pem", o.out+"_public_key.pem"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return usageErrorf(o.cmd, "%s already exists: keygen never overwrites a key; choose another --out NAME or move the file away", p)
		}
	}
	key, err := isvkit.GenerateKey(o.bits)
	if err != nil {
		return err
	}
	pubPEM, err := isvkit.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeNewFile(privPath, isvkit.MarshalPrivateKeyPEM(key), 0o600); err != nil {
		return err
	}
	if err := writeNewFile(pubPath, pubPEM, 0o644); err != nil {
		_ = os.Remove(privPath) // no half pair: the next run may use the same NAME
		return err
	}
	thumb := isvkit.Thumbprint(&key.PublicKey)
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{
			"private_key": privPath, "public_key": pubPath, "bits": o.bits, "thumbprint": thumb,
		})
	}
	w := o.io.Out
	fmt.Fprintf(w, "private key: %s (mode 0600: keep it secret, never send it)\n", privPath)
	fmt.Fprintf(w, "public key:  %s (hand this file to Polymarket at onboarding)\n", pubPath)
	fmt.Fprintf(w, "key:         RSA-%d, thumbprint %s\n", o.bits, thumb)
	fmt.Fprintf(w, "Next, with the client ID from onboarding (clientid.txt):\n  pmx-login isv token --env %s --client-id ID --key %s\n", o.g.env, privPath)
	return nil
}

// writeNewFile creates path with data and mode perm, whatever the umask,
// and fails if path exists. A failed write leaves no file behind.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	err := newfile.Write(path, data, perm)
	if errors.Is(err, fs.ErrExist) {
		return usageErrorf("isv keygen", "%s already exists: keygen never overwrites a key", path)
	}
	return err // "open NAME: no such file or directory"
}
