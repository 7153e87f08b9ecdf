package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// A reader loop reading the sink file while it is rewritten 1,000 times
// sees only whole tokens among those written (never a partial or empty
// file), in both formats; the file is 0600 and Remove removes it.
func TestSinkRewritesAreAtomic(t *testing.T) {
	for _, format := range []string{SinkToken, SinkJSON} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "token")
			s, err := NewSink(path, format)
			if err != nil {
				t.Fatal(err)
			}
			tokens := make([]string, 1000)
			written := map[string]bool{}
			for i := range tokens {
				tokens[i] = "tok-" + string(rune('a'+i%26)) + "-" + time.Duration(i).String() + "-padding-to-make-it-longer-than-one-write-could-tear"
				written[tokens[i]] = true
			}
			if err := s.Write(session.TokenInfo{Token: traderapi.Secret(tokens[0]), Expiry: time.Now()}); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var reads, bad int
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					b, err := os.ReadFile(path)
					reads++
					if err != nil || !written[sinkToken(t, format, b)] {
						bad++
					}
				}
			})
			for _, tok := range tokens {
				if err := s.Write(session.TokenInfo{Token: traderapi.Secret(tok), Expiry: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			if bad != 0 || reads == 0 {
				t.Fatalf("%d of %d reads saw no whole written token", bad, reads)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v", fi.Mode())
			}
			if err := s.Remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after Remove: %v", err)
			}
		})
	}
}

// sinkToken is the token in a sink file's content ("" if it does not
// decode).
func sinkToken(t *testing.T, format string, b []byte) string {
	if format == SinkToken {
		return string(b)
	}
	var tj TokenJSON
	if json.Unmarshal(b, &tj) != nil || tj.Expiry == "" {
		return ""
	}
	return tj.Token
}

// The agent's sink holds the token the agent serves, is rewritten when the
// token changes (a refresh), and is removed at a logout.
func TestRunSinkFollowsTheToken(t *testing.T) {
	f := setup(t, traderapitest.Options{})
	path := filepath.Join(t.TempDir(), "token")
	s, err := NewSink(path, SinkJSON)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.ag.RunSink(ctx, s); close(done) }()
	defer func() { cancel(); <-done }()
	cli := f.login(t)
	read := func() string { b, _ := os.ReadFile(path); return sinkToken(t, SinkJSON, b) }
	eventually(t, "the sink to be written", func() bool { return read() != "" })
	first := read()
	if _, err := f.ex.Authenticate(first); err != nil {
		t.Fatalf("the sink's token: %v", err)
	}
	if err := f.ag.current().Manager.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the sink to hold the new token", func() bool { return read() != first && read() != "" })
	if err := cli.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the sink to be removed", func() bool { _, err := os.Stat(path); return errors.Is(err, fs.ErrNotExist) })
}
