package traderapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"
)

// Challenge is one authentication challenge of a WWW-Authenticate header
// (RFC 7235, with the Bearer parameters of RFC 6750), e.g.
// Bearer realm="api", error="invalid_token", error_description="Token has expired".
type Challenge struct {
	// Scheme is the auth scheme as sent ("Bearer", "Basic").
	Scheme string
	// Realm is the "realm" parameter.
	Realm string
	// Error is the "error" parameter: "invalid_token",
	// "insufficient_scope", "invalid_request".
	Error string
	// ErrorDescription is the "error_description" parameter.
	ErrorDescription string
	// Scope is the "scope" parameter: the scopes the resource needs.
	Scope string
}

// ParseWWWAuthenticate parses a WWW-Authenticate header value. Parameters
// may be quoted strings (with backslash escapes) or bare tokens. When the
// header holds several challenges, the Bearer one is returned, else the
// first. ok is false for an empty or unparsable header.
func ParseWWWAuthenticate(h string) (c Challenge, ok bool) {
	var all []Challenge
	p := &challengeParser{s: h}
	for {
		p.skip(" \t,")
		if p.done() {
			break
		}
		scheme := p.token()
		if scheme == "" {
			return Challenge{}, false // a parameter before any scheme, or junk
		}
		ch := Challenge{Scheme: scheme}
		for p.param(&ch) {
		}
		all = append(all, ch)
	}
	for _, ch := range all {
		if strings.EqualFold(ch.Scheme, "Bearer") {
			return ch, true
		}
	}
	if len(all) == 0 {
		return Challenge{}, false
	}
	return all[0], true
}

// challengeParser walks a WWW-Authenticate header.
type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) done() bool { return p.i >= len(p.s) }

func (p *challengeParser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// isTokenChar reports a byte of a scheme, parameter name or bare value.
// It is more lenient than RFC 7230's tchar (it allows ':' and '/', which
// servers put in bare scope values): only spaces, controls, '"', ',' and
// '=' end a token.
func isTokenChar(b byte) bool {
	return b > ' ' && b < 0x7f && b != '"' && b != ',' && b != '='
}

// token reads a token (or token68 without its trailing '=' padding).
func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// param reads one auth-param ("name=value" or "name=\"value\"") of the
// current challenge into ch. It returns false, consuming nothing, when what
// follows is the next challenge or the end of the header.
func (p *challengeParser) param(ch *Challenge) bool {
	save := p.i
	p.skip(" \t,")
	name := p.token()
	p.skip(" \t")
	if name == "" || p.done() || p.s[p.i] != '=' {
		p.i = save // a new scheme (or the end): not ours
		return false
	}
	p.i++ // '='
	p.skip(" \t")
	if p.i < len(p.s) && p.s[p.i] == '=' { // token68 padding: "abc==", no parameter
		p.skip("=")
		return true
	}
	var value string
	if p.i < len(p.s) && p.s[p.i] == '"' {
		value = p.quoted()
	} else {
		value = p.token()
		p.skip("=") // token68-style padding of a bare value
	}
	switch strings.ToLower(name) {
	case "realm":
		ch.Realm = value
	case "error":
		ch.Error = value
	case "error_description":
		ch.ErrorDescription = value
	case "scope":
		ch.Scope = value
	}
	return true
}

// quoted reads a quoted-string starting at the opening quote, undoing
// backslash escapes; an unterminated string runs to the end of the header.
func (p *challengeParser) quoted() string {
	var b strings.Builder
	p.i++ // opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String()
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// missingScope finds the scope in the exchange's "permission denied: missing
// required scope <scope>".
var missingScope = regexp.MustCompile(`(?i)missing required scope:?\s+"?([A-Za-z0-9_.:\-/]+)`)

// Diagnosis says in one sentence what the troubleshooting guides would say
// about the error: what is wrong and what to do. It reads the status, the
// endpoint, the WWW-Authenticate challenge and the message. It returns ""
// when it has nothing to add (a 5xx, a 429, a 400 about the request body).
// It never contains a secret, nor advice about a command line: a program
// using the package adds its own.
func (e *APIError) Diagnosis() string {
	ch, _ := ParseWWWAuthenticate(e.WWWAuthenticate)
	detail := challengeDetail(ch, e.Message)
	msg := strings.ToLower(e.Message + " " + e.ErrorCode + " " + ch.ErrorDescription)
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return e.diagnose401(ch, detail, msg)
	case http.StatusForbidden:
		if s := scopeOf(ch, e.Message); s != "" {
			return fmt.Sprintf("the token lacks scope %s: ask support to grant it to your client ID, then get a new token", s)
		}
		if strings.Contains(msg, "participant") {
			return "the request needs a valid x-participant-id header (firms/<Firm>/users/<user>) for an account you may act for"
		}
		return "authenticated but not authorized (IP allowlist, account or participant): ask support to check your IP allowlist and account permissions" + detail
	case http.StatusBadRequest:
		if strings.Contains(msg, "x-participant-id") {
			return "account-scoped endpoints need the header x-participant-id: firms/<Firm>/users/<user>"
		}
	case http.StatusMisdirectedRequest:
		return "the server does not serve the Host header sent: it must be the environment's REST host, e.g. rest.preprod.polymarketexchange.com"
	}
	if e.redirect() {
		return "the auth endpoints do not redirect: something in front of the exchange, or a wrong base URL, redirected the call to " +
			e.Location + ", and calls that carry credentials never follow a redirect"
	}
	return ""
}

// diagnose401 is [APIError.Diagnosis] for a 401, by endpoint.
func (e *APIError) diagnose401(ch Challenge, detail, msg string) string {
	switch {
	case e.otpRequired():
		return "the account has MFA on: the login needs a current one-time code" + detail
	case e.Endpoint == PathLogin || e.Endpoint == PathChangePassword || e.Endpoint == PathEnrollMFA || e.Endpoint == PathConfirmMFA:
		return "the username or password was rejected (or the account is in another environment)" + detail
	case e.Endpoint == PathRegister:
		return "the registration token was rejected: it is single-use and expires; ask your account manager for a new one" + detail
	case e.Endpoint == PathRefresh:
		return "the refresh token was rejected (revoked, expired or from another environment): a new login is needed" + detail
	case strings.Contains(msg, "bearer") && strings.Contains(msg, "prefix"):
		return `send the raw access token as the Authorization header, without a "Bearer " prefix` + detail
	case strings.Contains(msg, "missing authorization"):
		return "the request carried no Authorization header: send the access token in it" + detail
	}
	return "the access token is invalid or expired" + detail + ": refresh it, or log in again"
}

// challengeDetail is " (error: description)" from the challenge, or from
// the message when the challenge says nothing; "" when neither does.
func challengeDetail(ch Challenge, message string) string {
	desc := ch.ErrorDescription
	if desc == "" && ch.Error != "" {
		desc = message
	}
	var s string
	switch {
	case ch.Error != "" && desc != "":
		s = ch.Error + ": " + desc
	case ch.Error != "":
		s = ch.Error
	case desc != "":
		s = desc
	default:
		return ""
	}
	return " (" + cleanDetail(s) + ")"
}

// scopeOf returns the missing scope named by an insufficient_scope challenge
// or by the exchange's message.
func scopeOf(ch Challenge, message string) string {
	if m := missingScope.FindStringSubmatch(message); m != nil {
		return m[1]
	}
	if m := missingScope.FindStringSubmatch(ch.ErrorDescription); m != nil {
		return m[1]
	}
	if strings.EqualFold(ch.Error, "insufficient_scope") {
		if ch.Scope != "" {
			return cleanDetail(ch.Scope)
		}
		return "(not named by the server)"
	}
	return ""
}

// maxDetail caps the server text a diagnosis quotes.
const maxDetail = 160

// cleanDetail makes server text safe for a one-line diagnosis: secrets
// redacted, control characters dropped, spaces collapsed, cut short.
func cleanDetail(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = RedactText(strings.Join(strings.Fields(s), " "))
	if len(s) > maxDetail {
		s = strings.ToValidUTF8(s[:maxDetail], "") + "…"
	}
	return s
}
