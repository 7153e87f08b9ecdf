package traderapitest

import (
	"net/http"
	"net/http/httptest"

	"github.com/pmx-login/pmx-login/traderapi"
)

// SandboxEnvironment is the environment name a [Server] gives its clients.
const SandboxEnvironment = "sandbox"

// Server is an [Exchange] listening on a loopback address, like an
// [httptest.Server]. Close it when done.
type Server struct {
	*Exchange
	// URL is the base URL to dial, "http://127.0.0.1:port" (https for
	// [NewTLSServer]).
	URL string

	srv *httptest.Server
}

// NewServer starts an exchange configured by opts on 127.0.0.1.
func NewServer(opts Options) *Server {
	e := New(opts)
	srv := httptest.NewServer(e)
	return &Server{Exchange: e, URL: srv.URL, srv: srv}
}

// NewTLSServer is [NewServer] over HTTPS with a self-signed certificate for
// 127.0.0.1 that [Server.HTTPClient] trusts.
func NewTLSServer(opts Options) *Server {
	e := New(opts)
	srv := httptest.NewTLSServer(e)
	return &Server{Exchange: e, URL: srv.URL, srv: srv}
}

// Close releases every [Hold], shuts the server down and waits for its
// requests to finish.
func (s *Server) Close() {
	s.ReleaseHolds()
	s.srv.Close()
}

// CloseClientConnections closes every open connection to the server.
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

// HTTPClient returns an HTTP client for the server (trusting its certificate
// for a TLS server).
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Environment names the server: [SandboxEnvironment], its URL dialled, its
// exchange's REST host as the Host header.
func (s *Server) Environment() traderapi.Environment {
	return traderapi.Environment{Name: SandboxEnvironment, BaseURL: s.URL, Host: s.Host()}
}

// Client returns a traderapi client for the server's environment over
// [Server.HTTPClient]; opts are applied after that and may override it.
func (s *Server) Client(opts ...traderapi.Option) (*traderapi.Client, error) {
	return traderapi.NewClient(s.Environment(), append([]traderapi.Option{traderapi.WithHTTPClient(s.HTTPClient())}, opts...)...)
}
