package traderapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// minScrub is the shortest secret value [Scrub] replaces: shorter ones
// (which no policy accepts as a password, and no OTP is) would garble any
// text they happen to occur in.
const minScrub = 4

// Scrub returns text with every occurrence of each secret's value, as is or
// as escaped in a JSON string, replaced by "[REDACTED]". Pattern redaction
// ([RedactText]) knows what tokens look like; Scrub knows the values the
// caller holds, so a server echoing a password back ("invalid: u1
// <password>") does not get it printed. Values shorter than 4 bytes are
// left alone.
func Scrub(text string, secrets ...Secret) string {
	for _, form := range scrubForms(secrets) {
		text = strings.ReplaceAll(text, form, redacted)
	}
	return text
}

// scrubBytes is [Scrub] for a body; it returns b itself when nothing needs
// replacing.
func scrubBytes(b []byte, secrets []Secret) []byte {
	for _, form := range scrubForms(secrets) {
		if bytes.Contains(b, []byte(form)) {
			b = bytes.ReplaceAll(b, []byte(form), []byte(redacted))
		}
	}
	return b
}

// scrubForms lists the forms each secret takes in text: as is, and escaped
// in a JSON string (with and without HTML escaping), longest first so that
// no form leaves part of a longer one behind.
func scrubForms(secrets []Secret) []string {
	var forms []string
	for _, s := range secrets {
		v := s.Reveal()
		if len(v) < minScrub {
			continue
		}
		forms = append(forms, v)
		if q, err := json.Marshal(v); err == nil {
			forms = append(forms, string(q[1:len(q)-1]))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) == nil {
			q := bytes.TrimSpace(b.Bytes())
			forms = append(forms, string(q[1:len(q)-1]))
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(forms)
}

// scrubHeader scrubs every value of h in place.
func scrubHeader(h http.Header, secrets []Secret) {
	if len(secrets) == 0 {
		return
	}
	for k, vs := range h {
		for i, v := range vs {
			h[k][i] = Scrub(v, secrets...)
		}
	}
}

// scrubError scrubs the server text an error from call carries.
func scrubError(err error, secrets []Secret) error {
	var ae *APIError
	var me *MalformedError
	switch {
	case len(secrets) == 0 || err == nil:
	case errors.As(err, &ae):
		for _, f := range []*string{&ae.Message, &ae.ErrorCode, &ae.BodyExcerpt, &ae.RequestID, &ae.WWWAuthenticate, &ae.Location} {
			*f = Scrub(*f, secrets...)
		}
		for i, d := range ae.Details {
			ae.Details[i] = scrubBytes(d, secrets)
		}
	case errors.As(err, &me):
		me.Reason = Scrub(me.Reason, secrets...)
	}
	return err
}

// secretHolder is a request body holding secrets.
type secretHolder interface{ secrets() []Secret }

func (r RegisterRequest) secrets() []Secret      { return []Secret{r.Token, r.Password} }
func (r CheckPasswordRequest) secrets() []Secret { return []Secret{r.Password} }
func (r LoginRequest) secrets() []Secret         { return []Secret{r.Password, r.OTP} }
func (r RefreshRequest) secrets() []Secret       { return []Secret{r.RefreshToken} }
func (r LogoutRequest) secrets() []Secret        { return []Secret{r.AccessToken, r.RefreshToken} }
func (r ChangePasswordRequest) secrets() []Secret {
	return []Secret{r.OldPassword, r.NewPassword}
}
func (r EnrollMFARequest) secrets() []Secret  { return []Secret{r.Password} }
func (r ConfirmMFARequest) secrets() []Secret { return []Secret{r.Password, r.OTP} }

// secretsOf lists the secrets a call sends: those of its body and its
// Authorization header.
func secretsOf(in any, authorization Secret) []Secret {
	var out []Secret
	if h, ok := in.(secretHolder); ok {
		out = h.secrets()
	}
	if authorization != "" {
		out = append(out, authorization)
	}
	return out
}
