package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/internal/redistest"
)

// redisLeakPassword is the Redis password of the audit's redis-server; a
// secret like any other.
const redisLeakPassword = "redis-Leak-Pass-7c2e91"

// leakFlowRedisKeygen runs `redis keygen` in success and failure (it never
// overwrites); the key file may hold the key, nothing else may.
func leakFlowRedisKeygen(s *leakScenario) map[string]secretKind {
	s.t.Helper()
	s.redisKeyFile = filepath.Join("cwd", "redis.key")
	path := filepath.Join(s.work, s.redisKeyFile)
	s.run(leakStep{cmd: "redis keygen", args: []string{"--out", path}})
	s.run(leakStep{cmd: "redis keygen", args: []string{"--out", path}, code: exitUsage})
	b, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatalf("redis keygen wrote no key file: %v", err)
	}
	return map[string]secretKind{strings.TrimSpace(string(b)): kindRedisKey}
}

// leakFlowRedis runs the session commands with --keystore redis against a
// redis-server that requires a password: success, a wrong key file, a
// wrong password, Redis down. The password (right and wrong) and the key
// must appear nowhere, and every value stored in Redis is audited too.
func leakFlowRedis(s *leakScenario) map[string]secretKind {
	srv := redistest.StartServer(s.t, "--requirepass", redisLeakPassword)
	known := leakFlowRedisKeygen(s)
	s.env = append(s.env, "PMX_REDIS_URL=redis://:"+redisLeakPassword+"@"+srv.Addr+"/0",
		"PMX_REDIS_KEY_FILE="+filepath.Join(s.work, s.redisKeyFile))
	pw := testPassword + "\n"
	u := []string{"--username", testUser}
	regTok := s.ex.RegistrationToken(testUser)
	s.run(leakStep{cmd: "register", args: []string{"--token-file", s.input("registration.jwt", regTok), "--password-stdin"}, stdin: pw})
	s.run(leakStep{cmd: "login", args: append(slices.Clone(u), "--password-stdin"), stdin: pw})
	s.run(leakStep{cmd: "status"})
	s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}})
	s.run(leakStep{cmd: "refresh"})
	s.run(leakStep{cmd: "token", allowOut: []secretKind{kindAccess}})

	otherKey := filepath.Join(s.t.TempDir(), "other.key")
	s.run(leakStep{cmd: "redis keygen", args: []string{"--out", otherKey}})
	b, err := os.ReadFile(otherKey)
	if err != nil {
		s.t.Fatal(err)
	}
	known[strings.TrimSpace(string(b))] = kindRedisKey
	s.run(leakStep{cmd: "token", code: exitFailure, env: []string{"PMX_REDIS_KEY_FILE=" + otherKey}})
	// A key rotation there and back: rekey to the other key, a rekey
	// without it fails, and a rekey back.
	mainKey := filepath.Join(s.work, s.redisKeyFile)
	s.run(leakStep{cmd: "redis rekey", env: []string{"PMX_REDIS_KEY_FILE=" + otherKey, "PMX_REDIS_OLD_KEY_FILES=" + mainKey}})
	s.run(leakStep{cmd: "redis rekey", code: exitFailure})
	s.run(leakStep{cmd: "redis rekey", env: []string{"PMX_REDIS_OLD_KEY_FILES=" + otherKey}})
	s.run(leakStep{cmd: "status", code: exitFailure, env: []string{"PMX_REDIS_KEY_FILE=" + filepath.Join(s.work, "missing.key")}})
	const wrong = "wrong-" + redisLeakPassword
	known[wrong] = kindRedisPassword
	s.run(leakStep{cmd: "status", code: exitUsage, env: []string{"PMX_REDIS_URL=redis://:" + wrong + "@" + srv.Addr}})
	s.run(leakStep{cmd: "logout"})
	s.run(leakStep{cmd: "status", code: exitNotLoggedIn})
	s.run(leakStep{cmd: "login", args: []string{"--password-stdin"}, stdin: pw}) // the last user, kept by logout
	s.auditRedis(srv)
	srv.Kill()
	s.run(leakStep{cmd: "token", code: exitFailure})
	s.run(leakStep{cmd: "status", code: exitFailure})
	known[redisLeakPassword] = kindRedisPassword
	known[testPassword] = kindPassword
	known[regTok] = kindRegistration
	return known
}

// auditRedis adds every key and value in Redis to the audit: nothing there
// may hold a token, password or key.
func (s *leakScenario) auditRedis(srv *redistest.Server) {
	s.t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, Password: redisLeakPassword})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) == 0 {
		s.t.Fatalf("reading Redis's keys: %v (%d keys)", err, len(keys))
	}
	for _, k := range keys {
		var b strings.Builder
		b.WriteString(k + "\n")
		vals, err := redistest.Values(ctx, rdb, k)
		if err != nil {
			s.t.Error(err)
		}
		b.WriteString(strings.Join(vals, "\n"))
		s.audit.add("redis key "+k, []byte(b.String()))
	}
}
