package session_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// scanRedis reads every key of the Redis at url (SCAN), every value of
// every type, and fails if any holds one of secrets (or its base64 would
// be too long to hide: the values are compared as raw strings).
func scanRedis(t *testing.T, url string, secrets []string) {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	var keys, values int
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		keys++
		for _, v := range redisValues(t, rdb, k) {
			values++
			for _, s := range secrets {
				if s != "" && (strings.Contains(v, s) || strings.Contains(k, s)) {
					t.Errorf("Redis key %q holds a secret in plain text", k)
				}
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if keys == 0 {
		t.Errorf("Redis holds no keys: nothing was scanned")
	}
	t.Logf("scanned %d Redis keys, %d values, for %d secrets: none found", keys, values, len(secrets))
}

// requestSecrets are the password, every refresh token sent and every
// access token that authorized a request, from the exchange's record.
func requestSecrets(reqs []traderapitest.Request) []string {
	out := []string{testPassword.Reveal()}
	for _, r := range reqs {
		if a := r.Header.Get("Authorization"); a != "" {
			out = append(out, a)
		}
		var body map[string]any
		if json.Unmarshal(r.Body, &body) == nil {
			for _, v := range body {
				if s, ok := v.(string); ok && len(s) >= 16 {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// redisValues returns every value stored under k, whatever its type.
func redisValues(t *testing.T, rdb *goredis.Client, k string) []string {
	vals, err := redistest.Values(context.Background(), rdb, k)
	if err != nil {
		t.Error(err)
	}
	return vals
}
