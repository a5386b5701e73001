package redispipe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/internal/testenv"
)

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var incrBy = redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)

// Many goroutines at once: each gets its own reply (GET and a script that
// is not loaded yet, so the first EVALSHA answers NOSCRIPT), a bad command
// fails alone, and the commands did share pipelines.
func TestConcurrentCommandsGetTheirOwnReplies(t *testing.T) {
	r := testenv.StartRedis(t)
	c := client(t, r.URL())
	h := Install(c, 2)
	ctx := context.Background()
	const n = 300
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.LPush(ctx, "list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	var batches, calls int
	var bmu sync.Mutex
	h.onBatch = func(size int) { bmu.Lock(); batches++; calls += size; bmu.Unlock() }

	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if v, err := c.Get(cctx, fmt.Sprintf("k%d", i)).Result(); err != nil || v != fmt.Sprintf("v%d", i) {
				errs <- fmt.Errorf("GET k%d = %q, %v", i, v, err)
			}
			if v, err := incrBy.Run(cctx, c, []string{fmt.Sprintf("n%d", i)}, i).Int(); err != nil || v != i {
				errs <- fmt.Errorf("script n%d = %d, %v", i, v, err)
			}
			if _, err := c.Get(cctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				errs <- fmt.Errorf("GET missing: %v", err)
			}
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Get(ctx, "list").Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			errs <- fmt.Errorf("GET of a list: %v", err)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	bmu.Lock()
	defer bmu.Unlock()
	if calls < 3*n || batches >= calls {
		t.Fatalf("%d commands in %d pipelines: none shared", calls, batches)
	}
	t.Logf("%d commands in %d pipelines", calls, batches)
}

// With Redis gone, a command fails (it does not hang) and the next one,
// after Redis is back, succeeds.
func TestRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	c := client(t, r.URL())
	Install(c, 2)
	r.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Get(ctx, "k").Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("GET with Redis down: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("GET took %v", d)
	}
	if err := c.Set(context.Background(), "x", "y", 0).Err(); err == nil {
		t.Fatal("SET with Redis down succeeded")
	}
}
