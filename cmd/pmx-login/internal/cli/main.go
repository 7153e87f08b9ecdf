package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Main runs the pmx-login command line args (without the program name) and
// returns the exit code. Errors are printed as one line on streams.Err.
func Main(ctx context.Context, args []string, streams IOStreams) int {
	s := streams.withDefaults()
	err := run(ctx, args, s)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
		err = errInterrupted // Ctrl-C or SIGTERM: whatever it broke
	}
	code, hint := classify(err)
	line := errorLine(err)
	if hint != "" {
		fmt.Fprintf(s.Err, "pmx-login: %s (%s)\n", line, hint)
	} else {
		fmt.Fprintf(s.Err, "pmx-login: %s\n", line)
	}
	return code
}

// run finds the command, parses its flags and the global ones, and runs it
// under the --timeout.
func run(ctx context.Context, args []string, s IOStreams) error {
	name, rest := splitCommand(args)
	switch {
	case name == "" && wantsHelp(rest):
		return writeMainHelp(s.Out)
	case name == "":
		_ = writeMainHelp(s.Err)
		return usageErrorf("", "no command given")
	case name == "help":
		if topic, _ := splitCommand(rest); topic != "" {
			if c, ok := lookup(topic); ok {
				return writeCommandHelp(s.Out, c, s.Getenv)
			}
			if isGroup(topic) {
				return writeGroupHelp(s.Out, topic)
			}
		}
		return writeMainHelp(s.Out)
	}
	c, ok := lookup(name)
	if !ok {
		if isGroup(name) && wantsHelp(rest) {
			return writeGroupHelp(s.Out, name)
		}
		if isGroup(name) {
			return usageErrorf("", "%q needs a subcommand: %s", name, strings.Join(groupCommands(name), ", "))
		}
		return usageErrorf("", "unknown command %q", name)
	}
	a := &app{io: s, cmd: c.name}
	defer a.close()
	gfs, err := globalFlags(&a.g, s.Getenv)
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("pmx-login "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runFn := c.setup(a, fs)
	fs.AddFlagSet(gfs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return writeCommandHelp(s.Out, c, s.Getenv)
		}
		return usageErrorf(c.name, "%v", err)
	}
	if fs.NArg() > c.maxArgs {
		return usageErrorf(c.name, "unexpected argument %q", fs.Arg(c.maxArgs))
	}
	if err := a.g.check(); err != nil {
		return err
	}
	if !c.noTimeout && !c.ownTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.g.timeout)
		defer cancel()
	}
	return runFn(ctx)
}

// splitCommand finds the command name among args (global flags may come
// before it) and returns it with the other arguments. A group name ("mfa")
// takes the next word as its subcommand.
func splitCommand(args []string) (string, []string) {
	var words []string
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case strings.HasPrefix(arg, "-") && arg != "-":
			rest = append(rest, arg)
			if globalValueFlags[arg] && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		case len(words) == 0 || (len(words) == 1 && isGroup(words[0])):
			words = append(words, arg)
		default:
			rest = append(rest, arg)
		}
	}
	return strings.Join(words, " "), rest
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

func groupCommands(group string) []string {
	var names []string
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			names = append(names, c.name)
		}
	}
	return names
}
