package doctor

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// accessToken decodes the cached access token and reports its expiry, the
// environment it was issued for, and its scopes.
func (r *runner) accessToken(ctx context.Context) Check {
	if r.cfg.Store == nil {
		return newCheck(NameAccessToken, Skipped, "no keystore given", "")
	}
	s := r.loadSession(ctx)
	if s.rec == nil {
		return newCheck(NameAccessToken, Skipped, "no stored session (see stored session)", "")
	}
	if s.rec.AccessToken.IsZero() {
		return newCheck(NameAccessToken, Skipped, "no access token is cached; the next `pmx-login token` (or the trial refresh) gets one", "")
	}
	return inspectAccessToken(r.cfg.Env, s.rec.AccessToken, r.cfg.Now())
}

// inspectAccessToken is the access token check of one token.
func inspectAccessToken(env traderapi.Environment, tok traderapi.Secret, now time.Time) Check {
	d, err := DecodeJWT(tok.Reveal())
	if err != nil {
		if !strings.HasPrefix(tok.Reveal(), "eyJ") {
			return newCheck(NameAccessToken, Skipped, "the cached access token is opaque (not a JWT): nothing to decode", "")
		}
		return newCheck(NameAccessToken, Warn, "the cached access token looks like a JWT but does not decode: "+err.Error(),
			"`pmx-login refresh` replaces it")
	}
	var facts []string
	if sub := d.Str("sub"); sub != "" {
		facts = append(facts, "sub "+sub)
	}
	iss, aud := d.Str("iss"), d.Audience()
	if iss != "" || len(aud) > 0 {
		facts = append(facts, fmt.Sprintf("iss %q, aud %q", iss, strings.Join(aud, " ")))
	}
	iat, hasIat := d.Time("iat")
	if hasIat {
		facts = append(facts, "issued "+human(now, iat))
	}
	exp, hasExp := d.Time("exp")
	if hasExp {
		facts = append(facts, "expires "+human(now, exp))
	}
	scopes := d.Scopes()
	facts = append(facts, "scopes: "+cmpOr(strings.Join(scopes, " "), "(none)"))
	saw := strings.Join(facts, "; ")

	if other, ok := otherEnvironment(env, iss, aud); ok {
		return newCheck(NameAccessToken, Fail, fmt.Sprintf("issued for %s, but the selected environment is %s: %s", other, envLabel(env), saw),
			fmt.Sprintf("use --env %s (and its --base-url/--host) with this session, or run `pmx-login login --env %s`", other, env.Name))
	}
	switch {
	case !hasExp:
		return newCheck(NameAccessToken, Warn, "no exp claim: "+saw, "the exchange's access tokens carry exp; is this the token the exchange issued?")
	case !now.Before(exp):
		return newCheck(NameAccessToken, Warn, "the cached token has expired: "+saw,
			"`pmx-login token` refreshes it (a bot's session.Manager does so by itself); a bot that sends this token must refresh before exp")
	case exp.Sub(now) < ExpiringSoon:
		return newCheck(NameAccessToken, Warn, "the cached token is about to expire: "+saw,
			"refresh at least 60s before exp: `pmx-login token` and session.Manager do")
	case hasIat && iat.Sub(now) > SkewWarn:
		return newCheck(NameAccessToken, Warn, "the token was issued in the future by the local clock: "+saw,
			"the local clock is behind: see the clock skew check")
	}
	if nbf, ok := d.Time("nbf"); ok && nbf.Sub(now) > SkewWarn {
		return newCheck(NameAccessToken, Warn, "the token is not valid before "+human(now, nbf)+": "+saw,
			"the local clock is behind, or the token is not yet usable: see the clock skew check")
	}
	return newCheck(NameAccessToken, OK, saw, "")
}

// knownEnvironments are the exchange's environment names, as host labels.
var knownEnvironments = []string{traderapi.Dev01, traderapi.Preprod, traderapi.Prod}

// envLabel is the exchange environment env stands for: its name, or the
// environment label of its REST host ("sandbox" dialling
// rest.preprod.polymarketexchange.com stands for preprod).
func envLabel(env traderapi.Environment) string {
	if slices.Contains(knownEnvironments, env.Name) {
		return env.Name
	}
	if l := hostEnv(env.Host); l != "" {
		return l
	}
	return env.Name
}

// hostEnv is the environment a host name names with one of its labels
// ("rest.prod.polymarketexchange.com", "pmx-prod.us.auth0.com"), "" if
// none.
func hostEnv(host string) string {
	for _, l := range strings.Split(strings.ToLower(host), ".") {
		for _, e := range knownEnvironments {
			if l == e || strings.HasSuffix(l, "-"+e) {
				return e
			}
		}
	}
	return ""
}

// otherEnvironment reports the environment a token's iss and aud name when
// it is not the selected one. A token naming the selected REST host, base
// URL host or environment is the selected one's; one that names no known
// environment cannot be judged.
func otherEnvironment(env traderapi.Environment, iss string, aud []string) (string, bool) {
	want := map[string]bool{strings.ToLower(env.Host): true}
	if u, err := url.Parse(env.BaseURL); err == nil {
		want[strings.ToLower(u.Hostname())] = true
	}
	delete(want, "")
	label := envLabel(env)
	var other string
	for _, v := range append([]string{iss}, aud...) {
		h := hostOf(v)
		switch {
		case h == "":
		case want[h], hostEnv(h) == label:
			return "", false
		case hostEnv(h) != "" && other == "":
			other = hostEnv(h)
		}
	}
	return other, other != ""
}

// hostOf is the lower-case host of a URL or bare host name.
func hostOf(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Hostname())
		}
		return ""
	}
	h, _, _ := strings.Cut(s, "/")
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
