package isv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/internal/isvkit"
	"github.com/pmx-login/pmx-login/traderapi"
)

// clientAssertionType is the client_assertion_type of a JWT client assertion.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxBody caps every response body read.
const maxBody = 1 << 20

// tokenResponse is the token endpoint's answer (the ISV authentication guide).
type tokenResponse struct {
	AccessToken traderapi.Secret `json:"access_token"`
	TokenType   string           `json:"token_type"`
	ExpiresIn   json.Number      `json:"expires_in"`
	Scope       string           `json:"scope"`
	Error       string           `json:"error"`
}

// grant is a token as the endpoint gave it.
type grant struct {
	token    traderapi.Secret
	scope    string
	lifetime time.Duration
	sent     time.Time // when the request was sent, by Config.Now
}

// requestBody builds the token request, JSON (the ISV authentication guide) or form-encoded.
func (s *Source) requestBody(assertion string) (body []byte, contentType string, err error) {
	fields := [][2]string{
		{"grant_type", "client_credentials"},
		{"client_id", s.cfg.clientID},
		{"client_assertion_type", clientAssertionType},
		{"client_assertion", assertion},
		{"audience", s.cfg.audience},
	}
	if s.cfg.scope != "" {
		fields = append(fields, [2]string{"scope", s.cfg.scope})
	}
	if s.cfg.form {
		v := url.Values{}
		for _, f := range fields {
			v.Set(f[0], f[1])
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded", nil
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		m[f[0]] = f[1]
	}
	body, err = json.Marshal(m)
	return body, "application/json", err
}

// exchange signs a fresh assertion and trades it for an access token.
func (s *Source) exchange(ctx context.Context) (grant, error) {
	assertion, err := s.assert()
	if err != nil {
		return grant{}, err
	}
	body, ctype, err := s.requestBody(assertion)
	if err != nil {
		return grant{}, fmt.Errorf("isv: encode token request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.tokenURL, bytes.NewReader(body))
	if err != nil {
		return grant{}, fmt.Errorf("isv: token request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", traderapi.DefaultUserAgent)
	s.requests.Add(1)
	sent := s.cfg.now()
	resp, err := s.cfg.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return grant{}, fmt.Errorf("isv: token request: %w", ctx.Err())
		}
		return grant{}, &traderapi.NetError{Endpoint: s.cfg.tokenURL, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body)
	if err != nil {
		return grant{}, &traderapi.NetError{Endpoint: s.cfg.tokenURL, Err: err}
	}
	g, err := decodeToken(s.cfg.tokenURL, resp, data)
	g.sent = sent
	return g, err
}

// decodeToken turns the token endpoint's answer into a grant or an error.
func decodeToken(endpoint string, resp *http.Response, data []byte) (grant, error) {
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return grant{}, traderapi.DecodeError(endpoint, resp, data) // never followed: see Config.HTTPClient
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(bytes.TrimSpace(data), &tr)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || (jsonErr == nil && tr.Error != "") {
		ae := traderapi.DecodeError(endpoint, resp, data)
		if ae.StatusCode < 300 {
			ae.StatusCode = http.StatusBadRequest // a 200 carrying an OAuth error is a failure
		}
		return grant{}, &TokenError{Code: ae.ErrorCode, Description: ae.Message, API: ae}
	}
	if jsonErr != nil {
		return grant{}, &traderapi.MalformedError{Endpoint: endpoint, StatusCode: resp.StatusCode,
			Reason: "expected a JSON token response, got " + strconv.Quote(traderapi.Excerpt(data))}
	}
	if tr.AccessToken == "" {
		return grant{}, &traderapi.MalformedError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "no access_token"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return grant{}, &traderapi.MalformedError{Endpoint: endpoint, StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("token_type is %q, expected Bearer", tr.TokenType)}
	}
	lifetime, err := tokenLifetime(tr)
	if err != nil {
		return grant{}, &traderapi.MalformedError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: err.Error()}
	}
	scope := tr.Scope
	if scope == "" {
		scope = isvkit.TokenScopes(tr.AccessToken.Reveal())
	}
	return grant{token: tr.AccessToken, scope: scope, lifetime: lifetime}, nil
}

// tokenLifetime reads expires_in, or else the JWT's exp − iat. It never
// assumes 180 s.
func tokenLifetime(tr tokenResponse) (time.Duration, error) {
	if tr.ExpiresIn != "" {
		n, err := tr.ExpiresIn.Float64()
		if err != nil || !(n > 0) {
			return 0, fmt.Errorf("expires_in %q is not a positive number of seconds", tr.ExpiresIn.String())
		}
		return seconds(n), nil
	}
	var c struct {
		Exp, Iat int64
	}
	parts := strings.Split(tr.AccessToken.Reveal(), ".")
	if len(parts) == 3 && isvkit.DecodePart(parts[1], &c) == nil && c.Exp > c.Iat && c.Iat > 0 {
		return seconds(float64(c.Exp - c.Iat)), nil
	}
	return 0, fmt.Errorf("no expires_in, and the access token carries no exp and iat to tell its lifetime")
}

// seconds converts a positive number of seconds to a Duration; past what a
// Duration holds (292 years) it is the longest, as Time.Sub gives.
func seconds(n float64) time.Duration {
	if n >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n * float64(time.Second))
}

// readCapped reads at most maxBody bytes of a body and drains nothing more.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if len(data) > maxBody {
		return data[:maxBody], fmt.Errorf("the response body is over %d bytes", maxBody)
	}
	return data, err
}

// stripURL drops the *url.Error wrapper (which repeats the URL) from a
// transport error.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
