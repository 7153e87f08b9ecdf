package cli

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// leakAudit holds everything some runs printed or wrote, each piece with
// the kinds of secret it may hold by design, and looks in all of it for
// every secret of the runs.
type leakAudit struct {
	// public is text known to be public, such as a public key file: a
	// piece of a secret found in it is no secret (the modulus is in both
	// the private and the public key).
	public []byte
	blobs  []auditBlob
	seen   map[[32]byte]bool
	bytes  int
}

// auditBlob is one output or one file's content at one moment.
type auditBlob struct {
	name  string
	data  []byte
	allow []secretKind
}

// add keeps data to search; the same content under the same name is kept
// once.
func (a *leakAudit) add(name string, data []byte, allow ...secretKind) {
	if a.seen == nil {
		a.seen = map[[32]byte]bool{}
	}
	h := sha256.Sum256(append([]byte(name+"\x00"), data...))
	if a.seen[h] {
		return
	}
	a.seen[h] = true
	a.blobs = append(a.blobs, auditBlob{name: name, data: bytes.Clone(data), allow: allow})
	a.bytes += len(data)
}

// needle is a piece of a secret that must not be found.
type needle struct {
	text string
	kind secretKind
}

// Window size and step of the pieces of long secrets searched for: any
// run of 30 characters of a secret (past the 8 that Secret.Prefix may
// show) contains a whole window.
const (
	needleWindow = 20
	needleStep   = 10
)

// needlesOf returns what to look for of one secret: the whole of it; for a
// JWT, its payload and its signature alone; and windows over what follows
// the prefix a diagnostic may show (for a JWT: payload and signature).
func needlesOf(v string, kind secretKind) []needle {
	var out []needle
	if len(v) >= 8 {
		out = append(out, needle{v, kind})
	}
	body := ""
	if parts := strings.Split(v, "."); len(parts) == 3 && strings.HasPrefix(v, "eyJ") {
		for _, p := range parts[1:] {
			if len(p) >= 16 {
				out = append(out, needle{p, kind})
			}
		}
		body = parts[1] + "." + parts[2]
	} else if len(v) > 8 {
		body = v[8:]
	}
	for i := 0; i+needleWindow <= len(body); i += needleStep {
		out = append(out, needle{body[i : i+needleWindow], kind})
	}
	return out
}

// needles returns the needles of every secret, without those in public
// text and the windows that also occur in a secret of another kind (every
// JWT of the exchange starts the same way: such a window names no one
// secret).
func needles(secrets map[string]secretKind, public []byte) []needle {
	var out []needle
	for v, kind := range secrets {
		for _, n := range needlesOf(v, kind) {
			shared := bytes.Contains(public, []byte(n.text))
			for w, k := range secrets {
				if k != kind && n.text != v && strings.Contains(w, n.text) {
					shared = true
					break
				}
			}
			if !shared {
				out = append(out, n)
			}
		}
	}
	return out
}

// shapes are what secrets look like, searched in outputs that may hold
// none, as a net under the exact search: whole JWTs, the exchange's opaque
// refresh tokens, TOTP secrets in a URL, PEM private keys.
var shapes = map[string]*regexp.Regexp{
	"a JWT":                   regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
	"an opaque refresh token": regexp.MustCompile(`rt_[A-Za-z0-9_-]{16,}`),
	"a TOTP secret in a URL":  regexp.MustCompile(`(?i)secret=[A-Z2-7]{16,}`),
	"a PEM private key":       regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{16,}`),
}

// leak is one finding: which output holds which kind of secret. It never
// carries the secret.
type leak struct {
	blob string
	what string
}

// find returns the leaks among the blobs, each output and kind once.
func (a *leakAudit) find(secrets map[string]secretKind) []leak {
	ns := needles(secrets, a.public)
	var out []leak
	for _, b := range a.blobs {
		found := map[string]bool{}
		for _, n := range ns {
			if slices.Contains(b.allow, n.kind) || found[string(n.kind)] {
				continue
			}
			if bytes.Contains(b.data, []byte(n.text)) {
				found[string(n.kind)] = true
				out = append(out, leak{blob: b.name, what: string(n.kind)})
			}
		}
		if len(b.allow) > 0 {
			continue
		}
		for what, re := range shapes {
			if re.Match(b.data) {
				out = append(out, leak{blob: b.name, what: "something shaped like " + what})
			}
		}
	}
	return out
}

// check fails the test for every leak, and returns how many needles were
// searched for.
func (a *leakAudit) check(t *testing.T, secrets map[string]secretKind) int {
	t.Helper()
	for _, l := range a.find(secrets) {
		t.Errorf("LEAK: %s holds %s", l.blob, l.what)
	}
	return len(needles(secrets, a.public))
}

func TestNeedlesFindPiecesOfSecrets(t *testing.T) {
	t.Parallel()
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0cmFkZXIxIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl"
	opaque := "rt_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
	secrets := map[string]secretKind{jwt: kindAccess, opaque: kindRefresh, "correct-horse-42-battery": kindPassword}
	parts := strings.Split(jwt, ".")
	cases := []struct {
		name, text string
		allow      []secretKind
		want       []string
	}{
		{"clean", "token eyJhbGci… [REDACTED] rt_Zm9v…", nil, nil},
		{"whole", "x " + jwt + " y", nil, []string{"access token", "something shaped like a JWT"}},
		{"signature alone", "sig=" + parts[2], nil, []string{"access token"}},
		{"payload alone", "claims " + parts[1], nil, []string{"access token"}},
		{"30 characters of the signature", parts[2][3:33], nil, []string{"access token"}},
		{"refresh cut short", opaque[:len(opaque)-5], nil, []string{"refresh token", "something shaped like an opaque refresh token"}},
		{"password in JSON", `{"password":"correct-horse-42-battery"}`, nil, []string{"password"}},
		{"allowed access", jwt + "\n", []secretKind{kindAccess}, nil},
		{"refresh where access is allowed", opaque, []secretKind{kindAccess}, []string{"refresh token"}},
	}
	for _, c := range cases {
		a := &leakAudit{}
		a.add(c.name, []byte(c.text), c.allow...)
		var got []string
		for _, l := range a.find(secrets) {
			got = append(got, l.what)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: found %q, want %q", c.name, got, c.want)
		}
	}
	// A piece of a secret that is also in public text (the modulus of a
	// private key is in the public key) is not a leak; the rest still is.
	a := &leakAudit{public: []byte("public: " + opaque[10:40])}
	a.add("public part", []byte(opaque[10:40]))
	a.add("private part", []byte(opaque[:30]))
	got := a.find(secrets)
	if len(got) == 0 || slices.ContainsFunc(got, func(l leak) bool { return l.blob != "private part" }) {
		t.Errorf("with public text: found %v, want leaks in the private part only", got)
	}
}
