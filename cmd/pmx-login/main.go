// Command pmx-login keeps a Polymarket Exchange trader session alive from the
// terminal: register, log in (with TOTP), print a valid access token, refresh,
// change the password and log out. Run `pmx-login demo` for a tour and
// `pmx-login --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/cli"
)

func main() {
	cli.QuietRedisLogs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
