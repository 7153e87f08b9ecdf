package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// writeMainHelp prints the command list, the global flags and the exit
// codes.
func writeMainHelp(w io.Writer) error {
	fmt.Fprint(w, `pmx-login keeps a Polymarket Exchange trader session alive: log in once, and
every script and bot gets a valid access token.

Usage: pmx-login [global flags] COMMAND [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprint(w, `
Examples:
  pmx-login demo                      # the whole flow against a local exchange
  pmx-login login --username trader1  # asks for the password (and a code once MFA is on)
  curl -H "Authorization: $(pmx-login token)" -H "Host: $PMX_HOST" "$PMX_BASE_URL/..."

Global flags (before or after the command):
`)
	var g globals
	gfs, _ := globalFlags(&g, func(string) string { return "" })
	fmt.Fprint(w, gfs.FlagUsages())
	fmt.Fprint(w, `
Passwords are never flags: they are read from the terminal without echo, or
one per line from stdin with --password-stdin.

Exit codes: 0 ok, 1 other failure, 2 usage, 3 not logged in or session expired,
4 credentials rejected (password, one-time code, registration token, ISV key or client assertion),
5 exchange unreachable or unavailable.

Run 'pmx-login COMMAND --help' for a command's flags and examples.
`)
	return nil
}

// writeCommandHelp prints one command's usage, example and flags.
func writeCommandHelp(w io.Writer, c command, getenv func(string) string) error {
	fmt.Fprintf(w, "%s\n\nUsage: pmx-login %s", c.summary, c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprint(w, " [global flags]\n")
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	fmt.Fprintf(w, "\nExample:\n")
	for _, line := range strings.Split(strings.TrimSpace(c.example), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	c.setup(&app{}, fs)
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	var g globals
	gfs, err := globalFlags(&g, getenv)
	if err != nil {
		gfs, _ = globalFlags(&g, func(string) string { return "" })
	}
	fmt.Fprintf(w, "\nGlobal flags:\n%s", gfs.FlagUsages())
	return nil
}

// writeGroupHelp lists the commands of a group ("mfa", "isv").
func writeGroupHelp(w io.Writer, group string) error {
	fmt.Fprintf(w, "Usage: pmx-login %s COMMAND [flags]\n\nCommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nRun 'pmx-login %s COMMAND --help' for a command's flags and examples.\n", group)
	return nil
}
