package file

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/traderapi"
)

// TestFileConcurrentGoroutines has writers and readers on two Store values
// over one directory: every read decodes to one complete record.
func TestFileConcurrentGoroutines(t *testing.T) {
	t.Parallel()
	a := newFile(t)
	b, err := New(a.Dir())
	if err != nil {
		t.Fatal(err)
	}
	k := keystore.Key{Environment: "preprod", Username: "shared"}
	storehelp.MustSet(t, a, k, hammerRecord("init", 0))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for i := range 25 {
				if err := s.Set(t.Context(), k, hammerRecord("g"+strconv.Itoa(w), i)); err != nil {
					errs <- err
					return
				}
				if err := checkHammerRead(t.Context(), s, k); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	noTempFiles(t, filepath.Join(a.Dir(), "preprod"))
}

// hammerRecord is record i of writer id: its token's length varies, and
// the token says how long it must be, so a torn record is detectable.
func hammerRecord(id string, i int) *keystore.Record {
	pad := (i % 7) * 300
	r := storehelp.Record("", "")
	r.RefreshToken = traderapi.Secret(fmt.Sprintf("rt-%s-%d-%d-%s", id, i, pad, strings.Repeat("x", pad)))
	return r
}

// checkHammerRead reads k and checks that the record is whole.
func checkHammerRead(ctx context.Context, s keystore.Store, k keystore.Key) error {
	r, err := s.Get(ctx, k)
	if err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	parts := strings.Split(r.RefreshToken.Reveal(), "-")
	if len(parts) != 5 {
		return fmt.Errorf("token has %d parts, want 5", len(parts))
	}
	if pad, _ := strconv.Atoi(parts[3]); len(parts[4]) != pad {
		return fmt.Errorf("token padded %d bytes, says %d", len(parts[4]), pad)
	}
	if u, err := s.LastUser(ctx, k.Environment); err != nil || u != k.Username {
		return fmt.Errorf("LastUser = %q, %v", u, err)
	}
	return nil
}

// hammer is the helper process of TestFileTwoProcesses: n rounds of Set
// then Get on the shared key.
func hammer(ctx context.Context, dir, id string, n int) error {
	f, err := New(dir)
	if err != nil {
		return err
	}
	k := keystore.Key{Environment: "preprod", Username: "shared"}
	for i := range n {
		if err := f.Set(ctx, k, hammerRecord(id, i)); err != nil {
			return fmt.Errorf("round %d: Set: %w", i, err)
		}
		if err := checkHammerRead(ctx, f, k); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
	}
	return nil
}

// TestFileTwoProcesses runs two processes (the test binary re-executed)
// hammering one stored session while this one reads it.
func TestFileTwoProcesses(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "shared"}
	storehelp.MustSet(t, f, k, hammerRecord("init", 0))
	var cmds []*helperproc.Cmd
	for _, id := range []string{"p1", "p2"} {
		cmd := helperproc.Command(t, helperEnv, "hammer", map[string]string{"PMX_HAMMER_DIR": f.Dir(), "PMX_HAMMER_ID": id, "PMX_HAMMER_N": "100"})
		cmds = append(cmds, helperproc.Start(t, cmd))
	}
	done := make(chan struct{})
	go func() {
		for _, c := range cmds {
			c.Wait()
		}
		close(done)
	}()
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := checkHammerRead(t.Context(), f, k); err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
	}
	for _, c := range cmds {
		if c.Err != nil {
			t.Fatalf("helper: %v\n%s", c.Err, c.Output())
		}
	}
	got := storehelp.MustGet(t, f, k)
	if !strings.HasPrefix(got.RefreshToken.Reveal(), "rt-p1-99-") && !strings.HasPrefix(got.RefreshToken.Reveal(), "rt-p2-99-") {
		t.Fatalf("final record %q is not a last write", got.RefreshToken.Reveal()[:12])
	}
	noTempFiles(t, filepath.Join(f.Dir(), "preprod"))
	t.Logf("%d reads in this process while two processes each wrote 100 records", reads)
}

// TestFileCrashLeavesWholeRecord kills a writing process at arbitrary
// points: the stored record is always the old or a new one, never torn.
func TestFileCrashLeavesWholeRecord(t *testing.T) {
	t.Parallel()
	f := newFile(t)
	k := keystore.Key{Environment: "preprod", Username: "shared"}
	storehelp.MustSet(t, f, k, hammerRecord("init", 0))
	for round := range 4 {
		cmd := helperproc.Command(t, helperEnv, "hammer", map[string]string{"PMX_HAMMER_DIR": f.Dir(), "PMX_HAMMER_ID": "k", "PMX_HAMMER_N": "100000"})
		c := helperproc.Start(t, cmd)
		time.Sleep(time.Duration(30+25*round) * time.Millisecond)
		_ = cmd.Process.Kill()
		c.Wait()
		if err := checkHammerRead(t.Context(), f, k); err != nil {
			t.Fatalf("after kill %d: %v", round, err)
		}
	}
	storehelp.MustSet(t, f, k, hammerRecord("after", 1))
	noTempFiles(t, filepath.Join(f.Dir(), "preprod"))
}
