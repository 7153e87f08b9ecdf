//go:build unix

package session_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/highwater"
	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A peer is a session.Manager in a process of its own (the test binary,
// re-executed), driven one command per line on its stdin: the tests of
// this file put two or three of them on one store, as separate programs
// on one machine or on several would be.
const (
	peerEnv      = "PMX_SESSION_TEST_PEER"
	peerURLEnv   = "PMX_SESSION_TEST_PEER_URL"   // the exchange (or a gate in front of it)
	peerHostEnv  = "PMX_SESSION_TEST_PEER_HOST"  // its Host
	peerStoreEnv = "PMX_SESSION_TEST_PEER_STORE" // "file:DIR" or "redis:URL"
	peerKeyEnv   = "PMX_SESSION_TEST_PEER_KEY"   // the Redis key file
	peerGensEnv  = "PMX_SESSION_TEST_PEER_GENS"  // the machine's generation marks
	peerSkewEnv  = "PMX_SESSION_TEST_PEER_SKEW"  // how far this peer's clock is off
	peerUserEnv  = "PMX_SESSION_TEST_PEER_USER"
	peerReEnv    = "PMX_SESSION_TEST_PEER_RELOGIN" // "1": log in again with the password
	peerPrefix   = "peer: "
)

// TestHelperPeer is the peer process; on its own it does nothing. Its
// commands: login USER, resume, start, token, refresh, logout, status,
// offset.
// It answers each with one line, "ok [VALUE]" or "err KIND: MESSAGE"
// (KIND from session.Classify, or rolledback / notrevoked).
func TestHelperPeer(t *testing.T) {
	if os.Getenv(peerEnv) != "1" {
		return
	}
	m, err := openPeer()
	if err != nil {
		fmt.Println(peerPrefix + "err open: " + err.Error())
		return
	}
	defer m.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		value, err := runPeerCommand(ctx, m, cmd, arg)
		if err != nil {
			fmt.Printf("%serr %s: %s\n", peerPrefix, peerKind(err), strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("%sok %s\n", peerPrefix, value)
	}
}

// openPeer builds the peer's manager from its environment.
func openPeer() (*session.Manager, error) {
	skew, _ := time.ParseDuration(os.Getenv(peerSkewEnv))
	now := func() time.Time { return time.Now().Add(skew) }
	env := traderapi.Environment{Name: traderapitest.SandboxEnvironment, BaseURL: os.Getenv(peerURLEnv), Host: os.Getenv(peerHostEnv)}
	client, err := traderapi.NewClient(env, traderapi.WithClock(now))
	if err != nil {
		return nil, err
	}
	var store session.Store
	kind, where, _ := strings.Cut(os.Getenv(peerStoreEnv), ":")
	if kind == "redis" {
		store, err = redis.Open(where, os.Getenv(peerKeyEnv), redis.WithLockLease(time.Second))
	} else {
		store, err = file.New(where)
	}
	if err != nil {
		return nil, err
	}
	cfg := session.Config{Client: client, Store: store, Username: os.Getenv(peerUserEnv), Now: now, Poll: 50 * time.Millisecond,
		Retry: fleetRetry, Generations: highwater.New(os.Getenv(peerGensEnv))}
	if os.Getenv(peerReEnv) == "1" {
		cfg.Relogin = session.PasswordRelogin(func(context.Context, string) (traderapi.Secret, error) { return testPassword, nil }, nil)
	}
	return session.New(cfg)
}

func runPeerCommand(ctx context.Context, m *session.Manager, cmd, arg string) (string, error) {
	switch cmd {
	case "login":
		return "", m.Login(ctx, arg, testPassword, "")
	case "resume":
		return "", m.Resume(ctx)
	case "start":
		return "", m.Start(ctx)
	case "token":
		tok, err := m.Token(ctx)
		return tok.Reveal(), err
	case "status":
		st := m.Status()
		return fmt.Sprintf("gen=%d failures=%d retrying=%v", st.Generation, st.Failures, st.Retrying != nil), nil
	case "offset":
		st := m.Status()
		return fmt.Sprintf("%s %v", st.ClockOffset, st.ClockMeasured), nil
	case "refresh":
		return "", m.Refresh(ctx)
	case "logout":
		return "", m.Logout(ctx)
	}
	return "", fmt.Errorf("unknown command %q", cmd)
}

// peerKind names an error for the test to branch on.
func peerKind(err error) string {
	switch {
	case errors.Is(err, session.ErrRolledBack):
		return "rolledback"
	case errors.Is(err, session.ErrNotRevoked):
		return "notrevoked"
	}
	return session.Classify(err).String()
}

// peerStore is where the peers of a test keep the session: a file store
// directory or a Redis, and the machine's generation marks.
type peerStore struct {
	spec, keyFile, gens string
	open                func(t *testing.T) session.Store // the same store, for this process
	rs                  *redistest.Server
}

// newPeerStore makes a store of kind "file" or "redis" for a test's peers.
func newPeerStore(t *testing.T, kind string) peerStore {
	t.Helper()
	dir := t.TempDir()
	st := peerStore{gens: filepath.Join(dir, "generations")}
	if kind == "file" {
		st.spec = "file:" + filepath.Join(dir, "store")
		st.open = func(t *testing.T) session.Store {
			s, err := file.New(filepath.Join(dir, "store"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return st
	}
	st.rs = redistest.StartServer(t)
	st.spec, st.keyFile = "redis:"+st.rs.URL(), writeRedisKey(t)
	st.open = func(t *testing.T) session.Store { return openFleetStore(t, st.rs.URL(), st.keyFile, "test/0") }
	return st
}

// peer is a running peer process.
type peer struct {
	*helperproc.LineProc
	t    *testing.T
	name string
}

// startPeer starts a peer for user on st, dialing url (the exchange srv,
// or a gate in front of it), its clock off by skew.
func startPeer(t *testing.T, name string, srv *traderapitest.Server, url string, st peerStore, user string, skew time.Duration, relogin bool) *peer {
	t.Helper()
	cmd := helperproc.Test(t, "TestHelperPeer", peerEnv+"=1", peerURLEnv+"="+url, peerHostEnv+"="+srv.Host(), peerStoreEnv+"="+st.spec,
		peerKeyEnv+"="+st.keyFile, peerGensEnv+"="+st.gens, peerSkewEnv+"="+skew.String(), peerUserEnv+"="+user,
		peerReEnv+"="+map[bool]string{true: "1", false: "0"}[relogin])
	return &peer{LineProc: helperproc.StartLines(t, cmd, peerPrefix), t: t, name: name}
}

// send writes a command without waiting for its answer.
func (p *peer) send(cmd string) {
	p.t.Helper()
	if _, err := io.WriteString(p.Stdin, cmd+"\n"); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, cmd, err)
	}
}

// answer waits for the answer to the oldest command sent.
func (p *peer) answer() string {
	p.t.Helper()
	select {
	case line, ok := <-p.Lines:
		if !ok {
			p.t.Fatalf("%s ended; it printed:\n%s", p.name, p.Log)
		}
		return line
	case <-time.After(time.Minute):
		p.t.Fatalf("%s gave no answer within a minute; it printed:\n%s", p.name, p.Log)
	}
	return ""
}

// do sends cmd and returns its answer.
func (p *peer) do(cmd string) string {
	p.t.Helper()
	p.send(cmd)
	return p.answer()
}

// must sends cmd and fails the test unless it succeeds; it returns the
// answer's value.
func (p *peer) must(cmd string) string {
	p.t.Helper()
	a := p.do(cmd)
	v, ok := strings.CutPrefix(a, "ok")
	if !ok {
		p.t.Fatalf("%s: %s: %s", p.name, cmd, a)
	}
	return strings.TrimSpace(v)
}
