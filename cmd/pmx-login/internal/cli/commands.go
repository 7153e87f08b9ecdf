package cli

import (
	"context"

	"github.com/spf13/pflag"
)

// command is one entry of the command table.
type command struct {
	// name is the command as typed: "login", "mfa enroll".
	name string
	// args is the usage of its flags and arguments, after the name.
	args string
	// summary is one line for the command list.
	summary string
	// long, when set, is printed under the summary by --help.
	long string
	// example is one or more example invocations.
	example string
	// maxArgs is how many positional arguments it takes (most take none).
	maxArgs int
	// noTimeout exempts the command from --timeout (long-running ones).
	noTimeout bool
	// ownTimeout: the command applies --timeout itself (with [app.timed])
	// to its exchange and keystore calls, so that prompts and waiting for
	// a one-time code window are not counted.
	ownTimeout bool
	// setup binds the command's options to its flags and returns its run
	// function.
	setup func(a *app, fs *pflag.FlagSet) func(ctx context.Context) error
}

// commands is the command table. Adding a command is one file and one line
// here.
func commands() []command {
	return []command{
		registerCommand(),
		checkPasswordCommand(),
		loginCommand(),
		refreshCommand(),
		tokenCommand(),
		statusCommand(),
		logoutCommand(),
		changePasswordCommand(),
		mfaEnrollCommand(),
		mfaConfirmCommand(),
		mfaCodeCommand(),
		doctorCommand(),
		decodeCommand(),
		isvKeygenCommand(), isvTokenCommand(), isvStatusCommand(),
		redisKeygenCommand(), redisRekeyCommand(),
		sandboxCommand(),
		demoCommand(),
		agentCommand(),
		versionCommand(),
		completionCommand(),
	}
}

// lookup returns the command named name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// isGroup reports whether name is the first word of multi-word commands
// ("mfa").
func isGroup(name string) bool {
	for _, c := range commands() {
		if len(c.name) > len(name) && c.name[:len(name)] == name && c.name[len(name)] == ' ' {
			return true
		}
	}
	return false
}
