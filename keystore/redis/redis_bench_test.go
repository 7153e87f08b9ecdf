package redis

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/internal/redistest"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
)

// BenchmarkRedisCompareAndSwap measures one fenced, encrypted write to a
// local redis-server (read, bump the generation, swap).
func BenchmarkRedisCompareAndSwap(b *testing.B) {
	rdb := redistest.StartServer(b).Client(b)
	s, err := New(rdb, benchKey(b))
	if err != nil {
		b.Fatal(err)
	}
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	cur := genRecord(env, "alice", 1)
	if err := s.Set(b.Context(), k, cur); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		next := genRecord(env, "alice", cur.Generation+1)
		if err := s.CompareAndSwap(b.Context(), k, cur, next); err != nil {
			b.Fatal(err)
		}
		cur = next
	}
}

// BenchmarkRedisWatchPropagation measures from the start of a write by
// one store to the wake-up of another store's Watch, and reports the
// latency's p50 and p99.
func BenchmarkRedisWatchPropagation(b *testing.B) {
	srv := redistest.StartServer(b)
	key := benchKey(b)
	writer, err := New(srv.Client(b), key)
	if err != nil {
		b.Fatal(err)
	}
	watcher, err := New(srv.Client(b), key, WithWatchPoll(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	env := storehelp.UniqueEnv("preprod")
	k := keystore.Key{Environment: env, Username: "alice"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := watcher.Watch(ctx, k)
	if err != nil {
		b.Fatal(err)
	}
	<-ch // subscribed
	var lat []time.Duration
	gen := uint64(0)
	for b.Loop() {
		start := time.Now()
		gen++
		if err := writer.Set(b.Context(), k, genRecord(env, "alice", gen)); err != nil {
			b.Fatal(err)
		}
		<-ch
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func benchKey(b *testing.B) *EncryptionKey {
	k, err := NewEncryptionKey([]byte("0123456789abcdef0123456789abcdef"), "bench.key")
	if err != nil {
		b.Fatal(err)
	}
	return k
}
