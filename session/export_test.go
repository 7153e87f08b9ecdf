package session

// ExpireNow marks the current access token expired, as a 401 for it would.
func ExpireNow(m *Manager) {
	if e := m.cache.Current(); e != nil {
		m.cache.Invalidate(e.Token)
	}
}
