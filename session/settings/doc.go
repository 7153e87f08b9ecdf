// Package settings is the one switch from pmx-login's settings to a
// session: it maps the global flags and their environment variables
// (PMX_ENV, PMX_BASE_URL, PMX_HOST, PMX_USERNAME, PMX_KEYSTORE,
// PMX_REDIS_URL, PMX_REDIS_KEY_FILE, XDG_CONFIG_HOME) to a configured
// keystore backend and *traderapi.Client, as a [session.Config]. The CLI
// and bots use it alike, so they agree on where a session is. It imports
// every keystore backend; package session imports none.
package settings
