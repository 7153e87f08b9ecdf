package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/internal/tooltest"
)

// startTimeout bounds how long a server may take to answer PING; generous
// for a loaded machine.
const startTimeout = 30 * time.Second

// Require skips t when a tool is not installed, or fails it when
// PMX_REQUIRE_TOOLS=1.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if len(tools) == 0 {
		tools = []string{"redis-server", "redis-cli"}
	}
	for _, name := range tools {
		if _, err := exec.LookPath(name); err != nil {
			tooltest.Skip(t, name+" is not installed", "apt-get install redis-server redis-sentinel redis-tools")
		}
	}
}

// Server is one running redis-server (or redis-sentinel) process.
type Server struct {
	// Port is its loopback port and Addr "127.0.0.1:Port".
	Port int
	Addr string
	// Dir is its working directory (its log is Dir/redis.log).
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartServer starts a single redis-server on a free loopback port with
// no persistence; extra are added to its command line. It is killed when
// the test ends.
func StartServer(t testing.TB, extra ...string) *Server {
	t.Helper()
	Require(t)
	return start(t, "redis-server", false, func(port int, dir string) []string {
		return append(baseArgs(port, dir), extra...)
	})
}

// baseArgs are every server's arguments: loopback only, no persistence.
func baseArgs(port int, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no"}
}

// start runs bin with the arguments args makes for a free port, retrying
// with another port when the first is taken meanwhile.
func start(t testing.TB, bin string, clusterBus bool, args func(port int, dir string) []string) *Server {
	t.Helper()
	var last error
	for range 5 {
		dir, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		s := &Server{Port: freePort(t, clusterBus), Dir: dir, done: make(chan struct{})}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		if last = s.run(t, bin, args(s.Port, dir)); last == nil {
			return s
		}
	}
	t.Fatalf("starting %s: %v", bin, last)
	return nil
}

// run starts the process and waits until it answers PING.
func (s *Server) run(t testing.TB, bin string, args []string) error {
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.Dir
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Kill)
	if err := s.waitReady(); err != nil {
		s.Kill()
		return fmt.Errorf("%w; log:\n%s", err, s.Log())
	}
	return nil
}

// waitReady polls PING until the server answers or has exited.
func (s *Server) waitReady() error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("the server exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		var reply redis.Error // an error reply (NOAUTH, LOADING...) means it is up
		if err == nil || errors.As(err, &reply) && !strings.HasPrefix(err.Error(), "LOADING") {
			return s.ours(c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no answer to PING on %s after %s", s.Addr, startTimeout)
}

// ours checks that the server that answered is this one, not another
// test's that took the port between freePort and the start (this one then
// exits with "Address already in use"): by INFO's process_id, or where
// INFO needs a password, by this process still running a moment later.
func (s *Server) ours(c *redis.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err == nil {
		if !strings.Contains(info, "process_id:"+strconv.Itoa(s.cmd.Process.Pid)+"\r\n") {
			return errors.New("another server answered on " + s.Addr)
		}
		return nil
	}
	select {
	case <-s.done:
		return errors.New("the server exited (its port was taken?)")
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// Kill kills the process (SIGKILL) and waits until it has exited. It may
// be called more than once.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Stop pauses the process (SIGSTOP) until [Server.Continue].
func (s *Server) Stop() error { return s.cmd.Process.Signal(sigStop) }

// Continue resumes a process paused by [Server.Stop].
func (s *Server) Continue() error { return s.cmd.Process.Signal(sigCont) }

// Exited is closed when the process has exited.
func (s *Server) Exited() <-chan struct{} { return s.done }

// Log returns the end of the server's log file.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// URL returns redis://127.0.0.1:Port.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Client returns a go-redis client for the server, closed when the test
// ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// freePort returns a loopback port that was free a moment ago (and, for a
// Cluster node, whose bus port, port+10000, was free too).
func freePort(t testing.TB, clusterBus bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !clusterBus {
			return port
		}
		if port+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
			_ = bus.Close()
			return port
		}
	}
	t.Fatal("no free port pair for a Cluster node")
	return 0
}

// cli runs redis-cli with args and returns its output.
func cli(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("redis-cli %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Values returns what key holds, whatever its type (string, hash as
// field and value pairs, set), for tests that search Redis for secrets;
// an error for a type they would not read.
func Values(ctx context.Context, rdb redis.UniversalClient, key string) ([]string, error) {
	typ, err := rdb.Type(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "string":
		v, err := rdb.Get(ctx, key).Result()
		return []string{v}, err
	case "hash":
		var out []string
		for f, v := range rdb.HGetAll(ctx, key).Val() {
			out = append(out, f, v)
		}
		return out, nil
	case "set":
		return rdb.SMembers(ctx, key).Result()
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("redistest: key %q has type %s, which Values does not read", key, typ)
}
