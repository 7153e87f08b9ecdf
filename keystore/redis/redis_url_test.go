package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// testRedisPassword must never be printed.
const testRedisPassword = "s3cret-Redis-pass"

func TestParseRedisURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, mode, str string
		addrs         []string
		db            int
		master        string
		tls           bool
	}{
		{"redis://localhost", "single", "redis://localhost:6379", []string{"localhost:6379"}, 0, "", false},
		{"redis://u:" + testRedisPassword + "@10.0.0.1:6380/2", "single", "redis://u:xxxxx@10.0.0.1:6380/2", []string{"10.0.0.1:6380"}, 2, "", false},
		{"rediss://:" + testRedisPassword + "@redis.example:6390", "single", "rediss://:xxxxx@redis.example:6390", []string{"redis.example:6390"}, 0, "", true},
		{"redis://[::1]:7000", "single", "redis://[::1]:7000", []string{"[::1]:7000"}, 0, "", false},
		{"redis-sentinel://u:" + testRedisPassword + "@h1:26379,h2:26380,h3/1?master=mymaster", "sentinel",
			"redis-sentinel://u:xxxxx@h1:26379,h2:26380,h3:26379/1?master=mymaster", []string{"h1:26379", "h2:26380", "h3:26379"}, 1, "mymaster", false},
		{"redis-cluster://h1:7000,h2:7001", "cluster", "redis-cluster://h1:7000,h2:7001", []string{"h1:7000", "h2:7001"}, 0, "", false},
		{"rediss-cluster://app@h1:7000", "cluster", "rediss-cluster://app@h1:7000", []string{"h1:7000"}, 0, "", true},
	} {
		u, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.str, err)
			continue
		}
		if u.Mode != tc.mode || !slices.Equal(u.Addrs, tc.addrs) || u.DB != tc.db || u.Master != tc.master || u.TLS != tc.tls || u.String() != tc.str {
			t.Errorf("%s: got %s %v db %d master %q tls %v", tc.str, u.Mode, u.Addrs, u.DB, u.Master, u.TLS)
		}
		assertNoRedisPassword(t, u, []*URL{u}, *u)
	}
}

func TestParseRedisURLErrors(t *testing.T) {
	t.Parallel()
	p := testRedisPassword
	for in, want := range map[string]string{
		"":                                     "no known scheme",
		"http://u:" + p + "@h:1":               "no known scheme",
		"redis://u:" + p + "@h:notaport":       "invalid port",
		"redis://u:" + p + "@h:99999":          "invalid port",
		"redis://u:" + p + "@h1:1,h2:2":        "names one host",
		"redis://u:" + p + "@h:1/db":           "not a database number",
		"redis://u:" + p + "@h:1?x=" + p:       "unknown parameter \"x\"",
		"redis-sentinel://u:" + p + "@h:1":     "master's name",
		"redis-cluster://u:" + p + "@h:1/3":    "only database 0",
		"redis://u:" + p + "%zz@h:1":           "percent-encode",
		"redis://u:" + p + "@h:1,":             "no host",
		"redis://u:" + p + "@:1":               "invalid host",
		"redis-cluster://u:" + p + "@h:1,,h:2": "no host",
	} {
		_, err := ParseURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", strings.ReplaceAll(in, p, "PASSWORD"), err, want)
			continue
		}
		assertNoRedisPassword(t, err)
	}
}

// assertNoRedisPassword prints vs every way a program might and checks
// that the Redis password never appears.
func assertNoRedisPassword(t *testing.T, vs ...any) {
	t.Helper()
	var b strings.Builder
	for _, v := range vs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&b, verb+"\n", v)
		}
		slog.New(slog.NewTextHandler(&b, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "v", v)
	}
	if strings.Contains(b.String(), testRedisPassword) {
		t.Fatalf("the Redis password is printed:\n%s", b.String())
	}
}

// TestOpenRedisPassword: a server that needs a password; a wrong one gives
// an error naming Redis without either password; the right one works.
func TestOpenRedisPassword(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "--requirepass", testRedisPassword)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	k := keystore.Key{Environment: storehelp.UniqueEnv("preprod"), Username: "alice"}
	wrong, err := Open("redis://:wrong-"+testRedisPassword+"@"+srv.Addr, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.Get(t.Context(), k)
	var re *commandError
	if !errors.As(err, &re) || errors.Is(err, keystore.ErrUnavailable) || !strings.Contains(err.Error(), srv.Addr) {
		t.Fatalf("wrong password: %v, want an Error naming %s that is not ErrUnavailable (a setting, not an outage)", err, srv.Addr)
	}
	assertNoRedisPassword(t, err, wrong)

	s, err := Open("redis://:"+testRedisPassword+"@"+srv.Addr+"/3", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storehelp.MustSet(t, s, k, storehelp.Record(k.Environment, "alice"))
	storehelp.SameRecord(t, storehelp.MustGet(t, s, k), storehelp.Record(k.Environment, "alice"))
	assertNoRedisPassword(t, s)

	if _, err := Open(srv.URL(), filepath.Join(t.TempDir(), "missing.key")); err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("missing key file: %v", err)
	}
}

// TestRedisDown: a Redis that is not running gives a Error naming it,
// quickly enough for a caller with a deadline.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	srv.Kill()
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	s, err := Open(srv.URL(), keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = s.Get(ctx, keystore.Key{Environment: "preprod", Username: "alice"})
	if !errors.Is(err, keystore.ErrUnavailable) || errors.Is(err, keystore.ErrNotFound) || !strings.Contains(err.Error(), srv.Addr) {
		t.Fatalf("Redis down: %v", err)
	}
}
