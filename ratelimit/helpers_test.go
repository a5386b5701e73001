package ratelimit

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/internal/testenv"
)

func TestMain(m *testing.M) {
	// Re-executed by TestRedisCrashedInstance to act as instance A.
	if addr := os.Getenv(crashHelperEnv); addr != "" {
		os.Exit(runCrashHelper(addr))
	}
	os.Exit(m.Run())
}

// newClient returns a go-redis client that honours context deadlines.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// backend builds limiters of one implementation. Every call gets fresh
// state: a new memory limiter, or a new key prefix on the shared Redis.
type backend struct {
	name   string
	events func(t testing.TB, cfg EventConfig) EventLimiter
	subs   func(t testing.TB, cfg SubscriptionConfig) SubscriptionLimiter
}

func backends(t *testing.T) []backend {
	r := testenv.StartRedis(t)
	client := newClient(t, r.Addr)
	var seq atomic.Int64
	prefix := func() string { return fmt.Sprintf("t%d:", seq.Add(1)) }
	return []backend{
		{
			name:   "memory",
			events: func(_ testing.TB, cfg EventConfig) EventLimiter { return NewMemoryEventLimiter(cfg) },
			subs: func(t testing.TB, cfg SubscriptionConfig) SubscriptionLimiter {
				l := NewMemorySubscriptionLimiter(cfg)
				t.Cleanup(func() { _ = l.Close() })
				return l
			},
		},
		{
			name: "redis",
			events: func(t testing.TB, cfg EventConfig) EventLimiter {
				l, err := NewRedisEventLimiter(RedisEventConfig{EventConfig: cfg, Client: client, Prefix: prefix()})
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
			subs: func(t testing.TB, cfg SubscriptionConfig) SubscriptionLimiter {
				return newRedisSubs(t, client, RedisSubscriptionConfig{SubscriptionConfig: cfg, Prefix: prefix()})
			},
		},
	}
}

// eventually polls cond every interval until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustAllow(t testing.TB, l EventLimiter, user, event string) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), user, event)
	if err != nil {
		t.Fatalf("Allow(%s, %s): %v", user, event, err)
	}
	return d
}
