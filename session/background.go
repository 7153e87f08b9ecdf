package session

import "context"

// Start runs a background refresher until ctx ends or [Manager.Close] is
// called: each access token is refreshed as soon as it goes stale, so that
// a bot's requests never wait on a refresh. Start returns at once; calling
// it again while it runs does nothing.
func (m *Manager) Start(ctx context.Context) {
	if !m.started.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer m.started.Store(false)
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.closed:
				return
			case <-m.staleCh:
				if s := m.cur.Load(); s != nil && s.err == nil {
					<-m.startRefresh(ctx, false)
				}
			}
		}
	}()
}

// Close stops the background refresher. The session stays stored, and the
// manager still answers Token (refreshing on demand) after Close.
func (m *Manager) Close() error {
	m.close.Do(func() { close(m.closed) })
	return nil
}

// onStale is the stale timer's cue to the background refresher; it never
// blocks.
func (m *Manager) onStale() {
	select {
	case m.staleCh <- struct{}{}:
	default:
	}
}
