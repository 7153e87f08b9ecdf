package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pmx-login/pmx-login/session"
)

// Sink formats.
const (
	// SinkToken writes the raw access token, no newline (Vault Agent's file
	// sink): `Authorization: $(cat FILE)`.
	SinkToken = "token"
	// SinkJSON writes a [TokenJSON]: the token with its expiry, so that a
	// reader can tell a token the agent could not renew.
	SinkJSON = "json"
)

// sinkCheck is how often the sink compares the agent's token with the one
// it wrote.
const sinkCheck = 200 * time.Millisecond

// Sink is a file holding the agent's current access token. Each new token
// replaces it atomically (a temporary file in the same directory, synced,
// renamed over it, the directory synced): a reader sees the old token or the
// new one, never a partial or empty file. The file is 0600. It is removed
// while the agent holds no valid token (no session yet, a logout, an ended
// session, a token that expired unrenewed) and when the agent stops, so it
// never holds an expired token.
type Sink struct {
	path, format string
	last         string
}

// NewSink returns a sink writing to path in format ([SinkToken] or
// [SinkJSON]). Its directory must exist.
func NewSink(path, format string) (*Sink, error) {
	if format != SinkToken && format != SinkJSON {
		return nil, fmt.Errorf("unknown sink format %q: use %s or %s", format, SinkToken, SinkJSON)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the sink's directory %s does not exist: create it (mode 700) first", filepath.Dir(path))
	}
	return &Sink{path: path, format: format}, nil
}

// Write replaces the file's content with ti, atomically.
func (s *Sink) Write(ti session.TokenInfo) error {
	data := []byte(ti.Token.Reveal())
	if s.format == SinkJSON {
		var err error
		data, err = json.Marshal(TokenJSON{Token: ti.Token.Reveal(), Expiry: ti.Expiry.UTC().Format(time.RFC3339)})
		if err != nil {
			return err
		}
	}
	if err := writeAtomic(s.path, data); err != nil {
		return fmt.Errorf("sink %s: %w", s.path, err)
	}
	s.last = ti.Token.Reveal()
	return nil
}

// Remove removes the file, if the sink wrote it.
func (s *Sink) Remove() error {
	s.last = ""
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sink %s: %w", s.path, err)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// RunSink keeps s in step with the agent's token until ctx ends, then
// removes the file.
func (a *Agent) RunSink(ctx context.Context, s *Sink) {
	t := time.NewTicker(sinkCheck)
	defer t.Stop()
	for {
		a.syncSink(ctx, s)
		select {
		case <-ctx.Done():
			if err := s.Remove(); err != nil {
				a.cfg.Logger.Warn("could not remove the sink", "error", err)
			}
			return
		case <-t.C:
		}
	}
}

// syncSink writes a token the sink does not hold yet, or removes the file
// when the agent holds no valid token.
func (a *Agent) syncSink(ctx context.Context, s *Sink) {
	if a.Ready() != nil {
		if s.last != "" {
			a.cfg.Logger.Info("removed the sink: no valid token", "reason", a.Ready())
			if err := s.Remove(); err != nil {
				a.cfg.Logger.Warn("could not remove the sink", "error", err)
			}
		}
		return
	}
	ti, err := a.Token(ctx)
	if err != nil || ti.Token.Reveal() == s.last {
		return
	}
	if err := s.Write(ti); err != nil {
		a.cfg.Logger.Warn("could not write the sink", "error", err)
		return
	}
	a.cfg.Logger.Debug("wrote the sink", "expiry", ti.Expiry)
}
