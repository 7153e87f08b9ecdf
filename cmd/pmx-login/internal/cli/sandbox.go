package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// sandboxUser is the user the sandbox mints a registration token for.
const sandboxUser = "trader1"

type sandboxOptions struct {
	*app
	addr string
}

func sandboxCommand() command {
	return command{
		name:    "sandbox",
		args:    "[--addr 127.0.0.1:PORT]",
		summary: "Run a local exchange to try every command against",
		long: `Serves a faithful local exchange (no account, no network) until interrupted, and
prints the PMX_* lines to paste into another shell, with a registration token for
user "trader1". Sessions go to a temporary XDG_CONFIG_HOME that is removed on exit,
never to your keychain. The registration token is a credential of the sandbox only.`,
		example: `pmx-login sandbox --addr 127.0.0.1:8443
# in another shell: paste the export lines, then
pmx-login register --token 'eyJ…' && pmx-login login --username trader1`,
		noTimeout: true,
		setup: func(a *app, fs *pflag.FlagSet) func(context.Context) error {
			o := &sandboxOptions{app: a}
			fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (`HOST:PORT`; port 0 picks a free one)")
			return func(ctx context.Context) error { return runSandbox(ctx, o) }
		},
	}
}

func runSandbox(ctx context.Context, o *sandboxOptions) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.addr)
	if err != nil {
		return usageErrorf(o.cmd, "cannot listen on %s: %v", o.addr, err)
	}
	dir, err := os.MkdirTemp("", "pmx-login-sandbox-")
	if err != nil {
		ln.Close()
		return fmt.Errorf("creating the sandbox's config directory: %w", err)
	}
	defer os.RemoveAll(dir)
	ex := traderapitest.New(traderapitest.Options{})
	srv := &http.Server{Handler: ex, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	w := o.io.Out
	fmt.Fprintf(w, "# pmx-login sandbox: a local exchange at http://%s; Ctrl-C stops it.\n", ln.Addr())
	fmt.Fprintln(w, "# Paste these lines into another shell:")
	fmt.Fprintf(w, "export PMX_BASE_URL=http://%s\n", ln.Addr())
	fmt.Fprintf(w, "export PMX_HOST=%s\n", ex.Host())
	fmt.Fprintln(w, "export PMX_ENV=preprod")
	fmt.Fprintln(w, "export PMX_KEYSTORE=file")
	fmt.Fprintf(w, "export XDG_CONFIG_HOME=%s\n", dir)
	fmt.Fprintf(w, "# registration token for user %q: %s\n", sandboxUser, ex.RegistrationToken(sandboxUser))
	fmt.Fprintf(w, "# then: pmx-login register --token-file FILE (or --token JWT), pmx-login login --username %s\n", sandboxUser)

	select {
	case err := <-served:
		return fmt.Errorf("the sandbox server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the sandbox: %w", err)
	}
	fmt.Fprintln(o.io.Err, "sandbox stopped")
	return nil
}
