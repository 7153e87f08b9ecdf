package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pmx-login/pmx-login/keystore"
)

// Watch returns a channel that receives a value whenever k's entry may have
// changed, so that the caller re-reads it with [Store.Get]:
//
//   - on every change notice the write scripts publish (SSUBSCRIBE on the
//     entry's channel, in the entry's Cluster slot);
//   - on every (re)subscription: go-redis subscribes again after a dropped
//     connection, and notices sent meanwhile are lost, so the first
//     value arrives as soon as the subscription is made and another after
//     each reconnection;
//   - when a poll of the stored generation ([WithWatchPoll]) finds it
//     changed, a backstop for lost notices.
//
// Values are coalesced: the channel has a buffer of one, and a caller that
// is busy gets one value for several changes. The channel is closed when
// ctx is done, after every goroutine Watch started has ended. A Redis that
// is down is not an error: Watch keeps reconnecting until ctx is done.
func (s *Store) Watch(ctx context.Context, k keystore.Key) (<-chan struct{}, error) {
	k, err := k.Normalize()
	if err != nil {
		return nil, err
	}
	ps := s.rdb.SSubscribe(ctx, s.channel(k))
	out := make(chan struct{}, 1)
	go s.watch(ctx, k, ps, out)
	return out, nil
}

// watch forwards notices, subscriptions and poll findings to out until ctx
// is done.
func (s *Store) watch(ctx context.Context, k keystore.Key, ps *goredis.PubSub, out chan struct{}) {
	defer close(out)
	msgs := ps.ChannelWithSubscriptions()
	defer func() {
		_ = ps.Close()
		for range msgs { // until go-redis's receiving goroutine has ended
		}
	}()
	tick := time.NewTicker(s.cfg.poll)
	defer tick.Stop()
	last, _ := s.storedGeneration(ctx, k)
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if msg, isMsg := m.(*goredis.Message); isMsg {
				last = msg.Payload
			}
			notify(out)
		case <-tick.C:
			if g, err := s.storedGeneration(ctx, k); err == nil && g != last {
				last = g
				notify(out)
			}
		}
	}
}

// storedGeneration reads k's generation as stored ("deleted" when absent,
// as in a delete notice).
func (s *Store) storedGeneration(ctx context.Context, k keystore.Key) (string, error) {
	g, err := s.rdb.HGet(ctx, s.base(k), "g").Result()
	if errors.Is(err, goredis.Nil) {
		return "deleted", nil
	}
	return g, err
}

// notify sends on a one-slot channel without blocking.
func notify(out chan struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
