package session

import "github.com/pmx-login/pmx-login/keystore"

// ExpireNow marks the current access token expired, as a 401 for it would.
func ExpireNow(m *Manager) {
	if e := m.cache.Current(); e != nil {
		m.cache.Invalidate(e.Token)
	}
}

// Key returns the store key of m's session.
func (m *Manager) Key() keystore.Key { return m.key(m.username()) }
