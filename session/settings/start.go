package settings

import (
	"context"
	"errors"
	"io"

	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
)

// Session is a started manager and the store it opened, for a bot's whole
// life: [Start] makes it, Close ends both.
type Session struct {
	*session.Manager
	store session.Store
}

// Close stops the manager ([session.Manager.Close]) and then closes the
// store it opened (a Redis store's connections).
func (s *Session) Close() error {
	err := s.Manager.Close()
	return closeStore(s.store, err)
}

// Start is a bot's setup in one call: it opens the keystore and client
// the settings name ([Settings.Config], with opts), resumes the session
// stored there ([session.Manager.Resume]: no network call) and starts the
// background refresher ([session.Manager.Start]) until ctx ends or Close.
// With configure (may be nil) the caller sets the rest of the
// [session.Config] first (Logger, Events, Relogin, ...). An error leaves
// nothing open; one matching [session.ErrNotLoggedIn] means run
// `pmx-login login` with the same settings.
func (s Settings) Start(ctx context.Context, configure func(*session.Config), opts ...traderapi.Option) (*Session, error) {
	cfg, err := s.Config(opts...)
	if err != nil {
		return nil, err
	}
	if configure != nil {
		configure(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		return nil, closeStore(cfg.Store, err)
	}
	b := &Session{Manager: m, store: cfg.Store}
	if err := m.Resume(ctx); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	if err := m.Start(ctx); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return b, nil
}

// closeStore closes st, if it holds anything (a Redis store's
// connections), joining its error to err.
func closeStore(st session.Store, err error) error {
	if c, ok := st.(io.Closer); ok {
		return errors.Join(err, c.Close())
	}
	return err
}
