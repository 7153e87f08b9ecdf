package traderapitest

import (
	"net/http"
	"strings"
	"sync"
)

// APIServer is a sample of the exchange's partner API (the ISV authentication and troubleshooting guides)
// that enforces what the real one does: a Bearer access token issued by its
// [AuthServer] (signature, expiry, audience, revocation), the scope each
// endpoint needs, and x-participant-id on account-scoped endpoints. It
// serves:
//
//	GET  /v1/health                   no auth
//	GET  /v1/whoami                   read:accounts
//	POST /v1/trading/orders           write:orders, x-participant-id
//	GET  /v1/positions                read:positions, x-participant-id
//	GET  /v1/orderbook/{symbol}/bbo   read:marketdata
//
// A missing or non-Bearer Authorization header, or a bad token, gets 401
// with WWW-Authenticate: Bearer error="invalid_token" and {"code":16,…}; a
// missing scope gets 403 {"code":7,"message":"permission denied: missing
// required scope <scope>"}; a missing or malformed x-participant-id gets 400
// {"code":3,…} naming the header. It is safe for concurrent use.
type APIServer struct {
	auth *AuthServer
	mux  *http.ServeMux

	mu      sync.Mutex
	calls   map[string]int
	reject  int // the next n authorized requests get 401 anyway
	lastHdr map[string]http.Header
}

// NewAPIServer returns a sample API that trusts auth's tokens.
func NewAPIServer(auth *AuthServer) *APIServer {
	s := &APIServer{auth: auth, mux: http.NewServeMux(), calls: map[string]int{}, lastHdr: map[string]http.Header{}}
	s.mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, _ *http.Request) {
		isvWriteJSON(w, http.StatusOK, map[string]string{"status": "SERVING"})
	})
	s.handle("GET /v1/whoami", "read:accounts", false, func(_ *http.Request, c isvCaller) any {
		return map[string]string{"clientId": c.client, "subject": c.sub, "scope": c.scope}
	})
	s.handle("POST /v1/trading/orders", "write:orders", true, func(_ *http.Request, c isvCaller) any {
		return map[string]string{"orderId": "ord-" + c.tokenID, "participantId": c.participant, "status": "NEW"}
	})
	s.handle("GET /v1/positions", "read:positions", true, func(_ *http.Request, c isvCaller) any {
		return map[string]any{"participantId": c.participant, "positions": []any{}}
	})
	s.handle("GET /v1/orderbook/{symbol}/bbo", "read:marketdata", false, func(r *http.Request, _ isvCaller) any {
		return map[string]any{"symbol": r.PathValue("symbol"), "bid": "0.41", "ask": "0.43"}
	})
	return s
}

// ServeHTTP implements [http.Handler].
func (s *APIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.URL.Path]++
	s.lastHdr[r.URL.Path] = r.Header.Clone()
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Calls returns how many requests for path the server has seen.
func (s *APIServer) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// LastHeader returns the headers of the last request for path (they hold
// the bearer token as sent), or nil.
func (s *APIServer) LastHeader(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHdr[path].Clone()
}

// RejectNext makes the next n requests with a valid token get 401 anyway,
// as when the token was revoked at the API's edge.
func (s *APIServer) RejectNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = n
}

// isvCaller is who an authorized request comes from.
type isvCaller struct {
	client, sub, scope, participant, tokenID string
}

// handle registers an endpoint behind token, scope and participant checks.
func (s *APIServer) handle(pattern, scope string, accountScoped bool, h func(*http.Request, isvCaller) any) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authorize(w, r)
		if !ok {
			return
		}
		if !strings.Contains(" "+c.scope+" ", " "+scope+" ") {
			isvWriteJSON(w, http.StatusForbidden, map[string]any{
				"code": 7, "message": "permission denied: missing required scope " + scope, "details": []any{}})
			return
		}
		if accountScoped {
			c.participant = r.Header.Get("x-participant-id")
			if !isvParticipantOK(c.participant) {
				msg := "missing x-participant-id header: account-scoped endpoints need x-participant-id: firms/<Firm>/users/<user>"
				if c.participant != "" {
					msg = "malformed x-participant-id header: expected firms/<Firm>/users/<user>"
				}
				isvWriteJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": msg, "details": []any{}})
				return
			}
		}
		isvWriteJSON(w, http.StatusOK, h(r, c))
	})
}

// authorize checks the Bearer token, answering 401 when it is not good.
func (s *APIServer) authorize(w http.ResponseWriter, r *http.Request) (isvCaller, bool) {
	deny := func(desc string) (isvCaller, bool) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		isvWriteJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": desc, "details": []any{}})
		return isvCaller{}, false
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return deny("missing Authorization header: send Authorization: Bearer <token>")
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" || strings.HasPrefix(tok, "Bearer ") {
		return deny("the Authorization header must be exactly Bearer <token>")
	}
	claims, err := s.auth.VerifyAccessToken(tok)
	if err != nil {
		return deny("invalid or expired access token")
	}
	s.mu.Lock()
	forced := s.reject > 0
	if forced {
		s.reject--
	}
	s.mu.Unlock()
	if forced {
		return deny("invalid or expired access token")
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	return isvCaller{client: str("azp"), sub: str("sub"), scope: str("scope"), tokenID: str("jti")}, true
}

// isvParticipantOK reports whether id has the shape firms/<Firm>/users/<user>.
func isvParticipantOK(id string) bool {
	p := strings.Split(id, "/")
	return len(p) == 4 && p[0] == "firms" && p[2] == "users" && p[1] != "" && p[3] != "" &&
		!strings.ContainsAny(id, " \t\r\n")
}
