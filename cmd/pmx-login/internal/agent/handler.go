package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pmx-login/pmx-login/session"
)

// The socket's paths.
const (
	PathToken    = "/v1/token"
	PathISVToken = "/v1/isv/token"
	PathStatus   = "/v1/status"
)

// Headers on every socket answer naming whose session it is, so that a
// command run for another environment or user does not take its token.
const (
	HeaderEnvironment = "X-Pmx-Environment"
	HeaderUsername    = "X-Pmx-Username"
)

// tokenWait bounds how long a socket request waits for a due refresh.
const tokenWait = 10 * time.Second

// TokenJSON is the answer of /v1/token and /v1/isv/token: the same object
// as `pmx-login token --json` (the ISV one adds the type and scope).
type TokenJSON struct {
	Token     string `json:"token"`
	Expiry    string `json:"expiry"` // RFC 3339, UTC
	TokenType string `json:"token_type,omitempty"`
	Scope     string `json:"scope,omitempty"`
}

// ErrorJSON is the answer of a failed socket request: the message (never a
// token) and its [session.Kind] ("not logged in", "session ended", ...).
type ErrorJSON struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
}

// StatusJSON is the answer of /v1/status.
type StatusJSON struct {
	Ready            bool    `json:"ready"`
	Reason           *string `json:"reason"`
	Kind             string  `json:"kind"`
	Environment      string  `json:"environment"`
	Username         string  `json:"username"`
	AccessExpiresAt  *string `json:"access_expires_at"`
	RefreshExpiresAt *string `json:"refresh_expires_at"`
	Stale            bool    `json:"stale"`
	MFA              bool    `json:"mfa"`
	Failures         int     `json:"failures"`
	Keystore         string  `json:"keystore"`
	ISV              bool    `json:"isv"`
}

// SocketHandler serves the token socket: GET /v1/token, /v1/isv/token and
// /v1/status, to the agent's own user only (see [Listen]). Every answer
// has Cache-Control: no-store; without a valid token the answer is a 503
// with an [ErrorJSON].
func (a *Agent) SocketHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathToken, a.serveToken)
	mux.HandleFunc("GET "+PathISVToken, a.serveISVToken)
	mux.HandleFunc("GET "+PathStatus, a.serveStatus)
	return a.requireOwner(mux)
}

// requireOwner refuses a peer that is not the agent's user with a 403.
func (a *Agent) requireOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		if ok, uid := peerAllowed(r.Context()); !ok {
			a.cfg.Logger.Warn("refused a socket client of another user", "uid", uid)
			writeJSON(w, http.StatusForbidden, ErrorJSON{Error: "the agent serves its own user only", Kind: "forbidden"})
			return
		}
		st := a.current().Manager.Status()
		h.Set(HeaderEnvironment, st.Environment)
		if u := st.Username; u != "" {
			h.Set(HeaderUsername, u)
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Agent) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), tokenWait)
	defer cancel()
	ti, err := a.Token(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenJSON{Token: ti.Token.Reveal(), Expiry: ti.Expiry.UTC().Format(time.RFC3339)})
}

func (a *Agent) serveISVToken(w http.ResponseWriter, r *http.Request) {
	src := a.current().ISV
	if src == nil {
		writeJSON(w, http.StatusNotFound, ErrorJSON{Error: ErrNoISV.Error(), Kind: "no isv"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), tokenWait)
	defer cancel()
	tok, err := src.Token(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenJSON{Token: tok.Reveal(), Expiry: src.Expiry().UTC().Format(time.RFC3339),
		TokenType: "Bearer", Scope: src.Scope()})
}

func (a *Agent) serveStatus(w http.ResponseWriter, _ *http.Request) {
	b := a.current()
	st := b.Manager.Status()
	err := a.Ready()
	out := StatusJSON{Ready: err == nil, Kind: session.Classify(err).String(), Environment: st.Environment,
		Username: st.Username, Stale: st.Stale, MFA: st.MFA, Failures: st.Failures,
		Keystore: b.Store.Backend(), ISV: b.ISV != nil}
	if err != nil {
		s := err.Error()
		out.Reason = &s
	} else {
		out.AccessExpiresAt = rfc3339(st.AccessExpiry)
	}
	out.RefreshExpiresAt = rfc3339(st.RefreshExpiry)
	writeJSON(w, http.StatusOK, out)
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// writeError answers a failed token request: 503 and the error's kind.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusServiceUnavailable
	if errors.Is(err, context.Canceled) {
		code = 499 // the client went away; nobody reads it
	}
	writeJSON(w, code, ErrorJSON{Error: err.Error(), Kind: session.Classify(err).String()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
