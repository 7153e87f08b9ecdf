package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// URL is a parsed Redis address ([ParseURL]). It prints with the
// password replaced by "xxxxx".
type URL struct {
	// Mode is "single", "sentinel" or "cluster".
	Mode string
	// TLS is true for the rediss schemes.
	TLS bool
	// Addrs are the host:port pairs: the server, the Sentinels, or the
	// Cluster's seed nodes.
	Addrs []string
	// DB is the database number (single and sentinel only).
	DB int
	// Master is the Sentinel master name.
	Master   string
	Username string
	password string
}

// redisSchemes maps each accepted scheme to its mode and TLS.
var redisSchemes = map[string]struct {
	mode string
	tls  bool
}{
	"redis": {"single", false}, "rediss": {"single", true},
	"redis-sentinel": {"sentinel", false}, "rediss-sentinel": {"sentinel", true},
	"redis-cluster": {"cluster", false}, "rediss-cluster": {"cluster", true},
}

// urlForms is what every URL error ends with.
const urlForms = "use redis://[user:password@]host:port/db, rediss://... for TLS, " +
	"redis-sentinel://[user:password@]host:port,host:port/db?master=NAME, " +
	"or redis-cluster://[user:password@]host:port,host:port; percent-encode special characters in the password"

// ParseURL parses a Redis address in one of these forms:
//
//	redis://[user:password@]host[:port][/db]           one server (port 6379, db 0 by default)
//	rediss://...                                       the same over TLS
//	redis-sentinel://[user:password@]h1:p1,h2:p2[/db]?master=NAME
//	                                                   Sentinels (port 26379 by default) and the master's name
//	redis-cluster://[user:password@]h1:p1,h2:p2        a Cluster's seed nodes
//	rediss-sentinel://..., rediss-cluster://...        the same over TLS
//
// The user and password are Redis's (ACL) credentials; in the Sentinel form
// they authenticate to the master and replicas, not to the Sentinels. Errors
// never quote the URL or its password.
func ParseURL(s string) (*URL, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(s), "://")
	sch, known := redisSchemes[strings.ToLower(scheme)]
	if !ok || !known {
		return nil, fmt.Errorf("keystore: the Redis URL has no known scheme: %s", urlForms)
	}
	r := &URL{Mode: sch.mode, TLS: sch.tls}
	userinfo, after, hasUser := cutLast(rest, "@")
	if !hasUser {
		after = rest
	}
	hosts := after
	if i := strings.IndexAny(after, "/?"); i >= 0 {
		hosts = after[:i]
	}
	u, err := url.Parse("x://" + userinfo + "@h" + after[len(hosts):])
	if err != nil {
		return nil, fmt.Errorf("keystore: the Redis URL is not a valid URL: %s", urlForms)
	}
	if hasUser {
		r.Username = u.User.Username()
		r.password, _ = u.User.Password()
	}
	if err := r.parseHosts(hosts); err != nil {
		return nil, err
	}
	if err := r.parseDB(u.Path); err != nil {
		return nil, err
	}
	return r, r.parseQuery(u.RawQuery)
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}

// parseHosts splits the comma-separated host list.
func (r *URL) parseHosts(hosts string) error {
	port := "6379"
	if r.Mode == "sentinel" {
		port = "26379"
	}
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			return fmt.Errorf("keystore: the Redis URL names no host: %s", urlForms)
		}
		host, p, err := net.SplitHostPort(h)
		if err != nil {
			host, p = strings.Trim(h, "[]"), port
		}
		if host == "" || strings.ContainsAny(host, " %") {
			return fmt.Errorf("keystore: the Redis URL has an invalid host: %s", urlForms)
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("keystore: the Redis URL has an invalid port %q", p)
		}
		r.Addrs = append(r.Addrs, net.JoinHostPort(host, p))
	}
	if r.Mode == "single" && len(r.Addrs) > 1 {
		return fmt.Errorf("keystore: a redis:// URL names one host; for several: %s", urlForms)
	}
	return nil
}

// parseDB reads the database number from the path.
func (r *URL) parseDB(path string) error {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	db, err := strconv.Atoi(path)
	if err != nil || db < 0 {
		return fmt.Errorf("keystore: the Redis URL's path %q is not a database number", path)
	}
	if r.Mode == "cluster" && db != 0 {
		return errors.New("keystore: a Redis Cluster has only database 0")
	}
	r.DB = db
	return nil
}

// parseQuery reads master= and refuses anything else.
func (r *URL) parseQuery(raw string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("keystore: the Redis URL's query is not valid: %s", urlForms)
	}
	for name := range q {
		if name != "master" || r.Mode != "sentinel" {
			return fmt.Errorf("keystore: the Redis URL has an unknown parameter %q: %s", name, urlForms)
		}
	}
	r.Master = q.Get("master")
	if r.Mode == "sentinel" && r.Master == "" {
		return fmt.Errorf("keystore: a Sentinel URL needs the master's name (?master=NAME): %s", urlForms)
	}
	return nil
}

// String returns the URL with the password replaced by "xxxxx".
func (r URL) String() string {
	scheme := map[string]string{"single": "redis", "sentinel": "redis-sentinel", "cluster": "redis-cluster"}[r.Mode]
	if r.TLS {
		scheme = strings.Replace(scheme, "redis", "rediss", 1)
	}
	var user string
	switch {
	case r.password != "":
		user = url.UserPassword(r.Username, "xxxxx").String() + "@"
	case r.Username != "":
		user = url.User(r.Username).String() + "@"
	}
	s := scheme + "://" + user + strings.Join(r.Addrs, ",")
	if r.DB != 0 {
		s += "/" + strconv.Itoa(r.DB)
	}
	if r.Master != "" {
		s += "?master=" + url.QueryEscape(r.Master)
	}
	return s
}

// Format prints String under every verb, so that %#v shows no password
// either.
func (r URL) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// connName is the name of this process's connections, pmx-login/HOST/PID
// (in CLIENT LIST).
func connName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '_'
		}
		return r
	}, host)
	return "pmx-login/" + host + "/" + strconv.Itoa(os.Getpid())
}

// newClient returns a go-redis client for the URL: a plain client, a
// Sentinel failover client, or a Cluster client.
func (r *URL) newClient() goredis.UniversalClient {
	var tc *tls.Config
	if r.TLS {
		host, _, _ := net.SplitHostPort(r.Addrs[0])
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	o := &goredis.UniversalOptions{
		Addrs: r.Addrs, DB: r.DB, Username: r.Username, Password: r.password,
		MasterName: r.Master, TLSConfig: tc, IsClusterMode: r.Mode == "cluster",
		// A frozen Redis (SIGSTOP, a stalled VM) accepts connections and
		// never answers: every call ends with its caller's deadline, not
		// after go-redis's own timeouts and retries.
		ContextTimeoutEnabled: true,
		// CLIENT LIST shows who is who; CLIENT SETINFO is not sent: it
		// exists from Redis 7.2 only, and the ACL need not allow it.
		ClientName:      connName(),
		DisableIdentity: true,
	}
	return goredis.NewUniversalClient(o)
}

// Open parses url ([ParseURL]), loads the key file
// ([LoadKeyFile]) and returns a [Store] store that owns its client
// ([Store.Close] closes it). It does not contact Redis: the first call
// that needs it reports a Redis that cannot be reached.
func Open(rawURL, keyFile string, opts ...Option) (*Store, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	key, err := LoadKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	rdb := u.newClient()
	s, err := New(rdb, key, append([]Option{withName(u.String())}, opts...)...)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	s.closer = rdb.Close
	return s, nil
}

// withName sets the name errors give the Redis.
func withName(name string) Option {
	return func(c *config) error { c.name = name; return nil }
}
