package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
)

// agentFirst is the --no-agent flag of the commands that ask a running
// agent first (token, status, isv token), as ssh-add asks ssh-agent.
type agentFirst struct{ noAgent bool }

func (f *agentFirst) bind(fs *pflag.FlagSet) {
	fs.BoolVar(&f.noAgent, "no-agent", false, "do not ask a running `pmx-login agent`; go to the keystore")
}

// askAgent asks the environment's agent for path and decodes its answer
// into out. It reports false, and the caller goes to the store, when
// --no-agent is given, no agent answers on the socket within
// [agent.DialWait], the agent serves another environment or user, or it
// has no valid token (the store may still tell why, with the right exit
// code).
func (a *app) askAgent(ctx context.Context, f agentFirst, path string, out any) (string, bool) {
	if f.noAgent {
		return "", false
	}
	env := a.g.settings(a.io.Getenv).EnvironmentName()
	sock, err := agent.SocketPath(a.io.Getenv, env)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(sock); err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, a.g.timeout)
	defer cancel()
	ans, err := agent.NewClient(sock).Get(ctx, path, out)
	switch {
	case err != nil:
		a.debugf("agent at %s: %v; using the keystore", sock, agentErrLine(err))
		return "", false
	case ans.Environment != env || (a.g.username != "" && ans.Username != a.g.username):
		a.debugf("the agent at %s serves %s/%s, not %s/%s; using the keystore", sock, ans.Environment, ans.Username, env, a.g.username)
		return "", false
	}
	a.debugf("answered by the agent at %s", sock)
	return sock, true
}

// agentErrLine describes an agent error without its transport details.
func agentErrLine(err error) string {
	if ae, ok := errors.AsType[*agent.AgentError](err); ok {
		return fmt.Sprintf("%s (%s)", ae.ErrorJSON.Error, ae.Kind)
	}
	return err.Error()
}

// debugf prints a --debug line on stderr.
func (a *app) debugf(format string, args ...any) {
	if a.g.debug {
		fmt.Fprintf(a.io.Err, "debug: "+format+"\n", args...)
	}
}

// agentTime parses an agent's RFC 3339 time ("" or bad: zero).
func agentTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, *s)
	return t
}
