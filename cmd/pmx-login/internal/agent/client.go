package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// DialWait bounds how long a command waits for an agent's socket to accept
// before it goes to the store itself.
const DialWait = 50 * time.Millisecond

// ErrNoAgent: no agent answers on the socket (none runs, or its socket is
// stale): the caller goes to the store.
var ErrNoAgent = errors.New("no agent answers on the socket")

// AgentError is an agent's refusal: no valid token, or the wrong user. Kind
// is the [session.Kind] it named.
type AgentError struct {
	Status int
	ErrorJSON
}

// Error says what the agent answered (never a token).
func (e *AgentError) Error() string { return "the agent answered: " + e.ErrorJSON.Error }

// Client asks an agent over its socket. It is the CLI's side of
// [Agent.SocketHandler].
type Client struct {
	path string
	hc   *http.Client
}

// NewClient returns a client of the agent at socket path.
func NewClient(path string) *Client {
	d := net.Dialer{Timeout: DialWait}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Answer is one socket answer: whose session it is and the decoded body.
type Answer struct {
	Environment, Username string
}

// Get asks path (PathToken, ...) and decodes a 200's body into out. An
// agent that cannot be reached is an error matching [ErrNoAgent]; an error
// answer is an [*AgentError].
func (c *Client) Get(ctx context.Context, path string, out any) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent"+path, nil)
	if err != nil {
		return Answer{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%w (%s): %w", ErrNoAgent, c.path, err)
	}
	defer resp.Body.Close()
	ans := Answer{Environment: resp.Header.Get(HeaderEnvironment), Username: resp.Header.Get(HeaderUsername)}
	body := io.LimitReader(resp.Body, 1<<20)
	if resp.StatusCode != http.StatusOK {
		ae := &AgentError{Status: resp.StatusCode}
		if err := json.NewDecoder(body).Decode(&ae.ErrorJSON); err != nil {
			ae.ErrorJSON = ErrorJSON{Error: fmt.Sprintf("status %d", resp.StatusCode), Kind: "other"}
		}
		return ans, ae
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return ans, fmt.Errorf("%w: its answer does not decode: %w", ErrNoAgent, err)
	}
	return ans, nil
}
