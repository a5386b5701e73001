package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/testenv"
)

// go test -run '^$' -bench . ./ratelimit/

func benchBackends(b *testing.B) map[string]struct {
	ev   EventLimiter
	subs SubscriptionLimiter
} {
	r := testenv.StartRedis(b)
	c := newClient(b, r.Addr)
	cfgE := EventConfig{Max: 1 << 30, Window: time.Minute}
	redisEv, err := NewRedisEventLimiter(RedisEventConfig{EventConfig: cfgE, Client: c})
	if err != nil {
		b.Fatal(err)
	}
	cfgS := SubscriptionConfig{MaxSubscriptions: 1 << 30}
	return map[string]struct {
		ev   EventLimiter
		subs SubscriptionLimiter
	}{
		"memory": {NewMemoryEventLimiter(cfgE), NewMemorySubscriptionLimiter(cfgS)},
		"redis":  {redisEv, newRedisSubs(b, c, RedisSubscriptionConfig{SubscriptionConfig: cfgS})},
	}
}

func BenchmarkAllow(b *testing.B) {
	for name, l := range benchBackends(b) {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				// 1000 users so the logs stay small, as in production
				if _, err := l.ev.Allow(ctx, strconv.Itoa(i%1000), "subscribe:watchlist"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	for name, l := range benchBackends(b) {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				user := strconv.Itoa(i % 1000)
				if ok, _, err := l.subs.Acquire(ctx, user, "s", 1); !ok || err != nil {
					b.Fatal(ok, err)
				}
				if err := l.subs.Release(ctx, user, "s", 1); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
