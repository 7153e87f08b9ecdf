package cli

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/file"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// crashRuns is how many runs the crash test kills (or lets finish).
const crashRuns = 30

// crashUsers take turns, so that a run finds the other user's session
// last stored, and its own session present or absent.
var crashUsers = []string{"crash-a", "crash-b"}

// crashKill is where in a run the kill is aimed.
type crashKill int

const (
	// killAfterStart: a random moment after the process starts, often
	// before its request is sent.
	killAfterStart crashKill = iota
	// killInFlight: a random moment after the exchange got the request,
	// while it delays the answer or dribbles the body.
	killInFlight
	// killAfterAnswer: 0-4 ms after the whole answer was written, while
	// the client decodes it and writes the keystore.
	killAfterAnswer
)

// A `pmx-login login`, `refresh` or `logout` killed with SIGKILL at random
// points leaves the file keystore with the old record or the new one, never
// a torn one: after every kill both users' records decode (no ErrCorrupt),
// a login's record is the one before or carries a refresh token the
// exchange issued in that run, a refresh's keeps the refresh token and has
// the old access token or one the exchange issued, a logout's is the old
// one or gone, and no file but the keystore's own is in the directory (the
// temporary files a killed writer leaves are hidden from Get and removed by
// the next write). The exchange delays each answer by a random 0-300 ms
// and dribbles the body over 0-200 ms. The seed is logged; set
// PMX_CRASH_SEED to replay a run.
//
// The keyring backend is not covered: a keychain write is one Secret
// Service call (one D-Bus message), atomic on the service's side.
func TestKilledCommandsLeaveOldOrNewSession(t *testing.T) {
	t.Parallel()
	bin := pmxBinary(t)
	ex := newRecordedExchange(t)
	for _, u := range crashUsers {
		if err := ex.AddUser(u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PMX_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PMX_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (PMX_CRASH_SEED=%d replays it)", seed, seed)
	c := &crashRig{t: t, bin: bin, ex: ex, rng: rand.New(rand.NewPCG(seed, seed>>1|1)), cfg: t.TempDir(), points: map[string]int{}}
	c.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + c.cfg,
		"PMX_BASE_URL=" + ex.URL, "PMX_HOST=" + ex.Host(), "PMX_ENV=preprod", "PMX_KEYSTORE=file",
	}
	start := time.Now()
	for i := range crashRuns {
		user := crashUsers[i%len(crashUsers)]
		switch {
		case i%6 == 4:
			c.crashOnce(i, user, "refresh", traderapi.PathRefresh)
		case i%6 == 5:
			c.crashOnce(i, user, "logout", traderapi.PathLogout)
		default:
			c.crashOnce(i, user, "login", traderapi.PathLogin)
		}
	}
	for _, u := range crashUsers {
		c.cleanLogin(u)
	}
	if left := c.temps(); len(left) > 0 {
		t.Errorf("temporary files left after a clean write: %v", left)
	}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(c.points)) {
		lines = append(lines, fmt.Sprintf("  %-52s %d", k, c.points[k]))
	}
	t.Logf("%d runs in %s, %d killed, %d temporary files seen after kills; where they ended:\n%s",
		crashRuns, time.Since(start).Round(time.Millisecond), c.killed, c.tempsSeen, strings.Join(lines, "\n"))
	if c.inFlight == 0 || c.killed < crashRuns/2 {
		t.Errorf("%d kills, %d of them with the request at the exchange: the test did not test", c.killed, c.inFlight)
	}
}

// crashRig is the state of the crash test.
type crashRig struct {
	t                *testing.T
	bin              string
	ex               *recordedExchange
	rng              *rand.Rand
	cfg              string
	env              []string
	points           map[string]int
	killed, inFlight int
	tempsSeen        int
}

// store returns the file keystore the runs share.
func (c *crashRig) store() *file.Store {
	c.t.Helper()
	st, err := file.New(filepath.Join(c.cfg, "pmx-login"))
	if err != nil {
		c.t.Fatalf("file.New: %v", err)
	}
	return st
}

// record reads user's session: nil when there is none. Anything but a
// record or not-found fails the test: a torn file is ErrCorrupt.
func (c *crashRig) record(user, when string) *keystore.Record {
	c.t.Helper()
	rec, err := c.store().Get(c.t.Context(), keystore.Key{Environment: "preprod", Username: user})
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		return nil
	case err != nil:
		c.t.Fatalf("%s: the session of %s does not read back: %v", when, user, err)
	case rec.Ended():
		return nil // a logout's tombstone: no session, no token
	}
	return rec
}

// cleanLogin logs user in without a fault and without a kill.
func (c *crashRig) cleanLogin(user string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, "login", "--username", user, "--password-stdin")
	cmd.Env, cmd.Stdin = c.env, strings.NewReader(testPassword+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("clean login of %s: %v\n%s", user, err, traderapi.RedactText(string(out)))
	}
}

// crashOnce runs `pmx-login name` for user with a fault on path, kills it
// at a random point, and checks what the keystore holds.
func (c *crashRig) crashOnce(i int, user, name, path string) {
	t := c.t
	t.Helper()
	before := c.record(user, "before")
	if name != "login" && (before == nil || c.revoked(before)) {
		c.cleanLogin(user)
		before = c.record(user, "after a clean login")
	}
	latency := time.Duration(c.rng.IntN(301)) * time.Millisecond
	slow := time.Duration(c.rng.IntN(201)) * time.Millisecond
	c.ex.InjectFault(path, traderapitest.Fault{Latency: latency, SlowBody: slow})
	defer c.ex.ClearFaults()
	aim := crashKill(c.rng.IntN(3))
	delay := []time.Duration{
		time.Duration(c.rng.IntN(60)) * time.Millisecond,
		time.Duration(c.rng.Int64N(int64(latency + slow + time.Millisecond))),
		time.Duration(c.rng.IntN(4001)) * time.Microsecond,
	}[aim]
	issuedBefore := c.ex.issued()
	w := c.ex.watch(path)

	args := []string{name, "--username", user}
	if name == "login" {
		args = append(args, "--password-stdin")
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Env, cmd.Stdin = c.env, strings.NewReader(testPassword+"\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var trigger <-chan struct{}
	switch aim {
	case killAfterStart: // no trigger: the delay counts from the start
	case killInFlight:
		trigger = w.received
	case killAfterAnswer:
		trigger = w.answered
	}
	if trigger != nil {
		select {
		case <-trigger:
		case <-exited:
			t.Fatalf("run %d: %s ended before the exchange saw it:\n%s", i, name, traderapi.RedactText(out.String()))
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: %s did not reach the exchange in 10s", i, name)
		}
	}
	time.Sleep(delay)
	point := c.where(w)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := <-exited
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
		c.killed++
		if point == "exchange answering" {
			c.inFlight++
		}
	} else {
		point = fmt.Sprintf("finished (exit %d)", cmd.ProcessState.ExitCode())
	}
	t.Logf("run %d: %s %s, latency %s, slow body %s, kill aimed %d+%s: %s", i, name, user, latency, slow, aim, delay, point)
	outcome := c.checkAfter(i, name, user, before, issuedBefore)
	c.points[name+": "+point+" → "+outcome]++
}

// where says how far the run had got when it was killed.
func (c *crashRig) where(w *requestWatch) string {
	select {
	case <-w.answered:
		return "answer written, client storing"
	default:
	}
	select {
	case <-w.received:
		return "exchange answering"
	default:
	}
	return "before the request arrived"
}

// revoked reports whether the exchange no longer accepts rec's access
// token (a logout killed after the exchange revoked the tokens).
func (c *crashRig) revoked(rec *keystore.Record) bool {
	if rec.AccessToken.IsZero() {
		return true
	}
	_, err := c.ex.Authenticate(rec.AccessToken.Reveal())
	return err != nil
}
