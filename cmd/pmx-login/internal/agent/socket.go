package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// EnvSocket names the agent's socket (--socket), for the agent and for the
// commands that ask it first.
const EnvSocket = "PMX_AGENT_SOCK"

// ErrAgentRunning: another agent serves the socket path.
var ErrAgentRunning = errors.New("another agent is serving this socket")

// SocketPath returns the socket of env's agent: $PMX_AGENT_SOCK when set,
// else ENV.sock in $XDG_RUNTIME_DIR/pmx-login (when absolute), else in the
// user's config directory's pmx-login/agent.
func SocketPath(getenv func(string) string, env string) (string, error) {
	if p := getenv(EnvSocket); p != "" {
		return p, nil
	}
	name := env + ".sock"
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) && runtime.GOOS != "windows" {
		return filepath.Join(d, "pmx-login", name), nil
	}
	d := getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(d) || (runtime.GOOS != "linux" && !strings.HasSuffix(runtime.GOOS, "bsd")) {
		var err error
		if d, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("no socket path: set %s or XDG_RUNTIME_DIR: %w", EnvSocket, err)
		}
	}
	return filepath.Join(d, "pmx-login", "agent", name), nil
}

// Listen listens on the Unix socket path, in a directory only the user may
// enter (created 0700; an existing one others may enter is refused), with
// the socket 0600. A socket file left by an agent that is gone is replaced;
// one a live agent answers on is an error matching [ErrAgentRunning].
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil && runtime.GOOS != "windows" {
		l.Close()
		return nil, fmt.Errorf("socket mode: %w", err)
	}
	return l, nil
}

// checkDir refuses a socket directory that others may enter.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("the socket directory %s may be entered by others (mode %04o): give --socket a path in a directory of your own (chmod 700)", dir, fi.Mode().Perm())
	}
	return nil
}

// clearStale removes a socket file nothing answers on. A file that is not
// a socket is left, with an error.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket && runtime.GOOS != "windows" {
		return fmt.Errorf("%s exists and is not a socket: remove it or give another --socket", path)
	}
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: %w (stop it first, or give another --socket)", path, ErrAgentRunning)
	}
	return os.Remove(path)
}
