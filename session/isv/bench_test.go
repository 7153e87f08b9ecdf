package isv

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// freshSource returns a Source with a fresh cached token.
func freshSource(t testing.TB, tb *testbed) *Source {
	t.Helper()
	src, err := New(tb.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	return src
}

// Not parallel: AllocsPerRun needs the test alone.
func TestHotPathsDoNotAllocate(t *testing.T) {
	tb := setup(t, traderapitest.AuthOptions{})
	src := freshSource(t, tb)
	ctx := t.Context()
	if n := testing.AllocsPerRun(1000, func() { _, _ = src.Token(ctx) }); n != 0 {
		t.Errorf("Token on a fresh token: %v allocs/op, want 0", n)
	}
}

// reuseSource is oauth2.ReuseTokenSource over a token valid for an hour:
// the standard cached token source to compare with.
func reuseSource() oauth2.TokenSource {
	tok := &oauth2.Token{AccessToken: "x", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	return oauth2.ReuseTokenSource(tok, oauth2.StaticTokenSource(tok))
}

func BenchmarkToken(b *testing.B) {
	src := freshSource(b, setup(b, traderapitest.AuthOptions{}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenParallel(b *testing.B) {
	src := freshSource(b, setup(b, traderapitest.AuthOptions{}))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := src.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkOAuth2ReuseTokenSource(b *testing.B) {
	ts := reuseSource()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOAuth2ReuseTokenSourceParallel(b *testing.B) {
	ts := reuseSource()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
