package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultBreakerWindow is how long the Redis limiters fail fast after a call
// found Redis unreachable (or too slow): calls in that window answer at
// once, by the FailOpen policy, without waiting Timeout for a Redis that
// just failed. The first call after the window tries Redis again.
//
// Without it, every call during an outage waits its full Timeout: each
// subscribe of each user, and, on shutdown, each disconnecting socket's
// release in turn (10,000 sockets × 250 ms).
const DefaultBreakerWindow = 500 * time.Millisecond

// breaker remembers the last time Redis failed. Safe for concurrent use;
// calls go through until a failure is recorded.
type breaker struct {
	window time.Duration
	until  atomic.Int64 // UnixNano before which calls fail fast
	last   atomic.Pointer[error]
}

// check returns a non-nil error, wrapping the failure that opened the
// breaker, while calls should fail fast.
func (b *breaker) check() error {
	if b.window <= 0 || time.Now().UnixNano() >= b.until.Load() {
		return nil
	}
	cause := errors.New("redis failed")
	if p := b.last.Load(); p != nil {
		cause = *p
	}
	return fmt.Errorf("not calling redis for %v after a failure: %w", b.window, cause)
}

// record opens the breaker when err says Redis could not answer: a network
// error or our own timeout. A Redis error reply (a script error, NOSCRIPT
// handled by go-redis, redis.Nil) proves Redis is up, and a caller that
// gave up (its ctx ended) proves nothing.
func (b *breaker) record(caller context.Context, err error) {
	if b.window <= 0 || err == nil || caller.Err() != nil {
		return
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return
	}
	b.last.Store(&err)
	b.until.Store(time.Now().Add(b.window).UnixNano())
}

// run calls call with a ctx bounded by timeout unless the breaker is open
// (then it returns the breaker's error without calling), and records
// call's failure.
func (b *breaker) run(ctx context.Context, timeout time.Duration, call func(context.Context) error) error {
	if err := b.check(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	err := call(cctx)
	cancel()
	b.record(ctx, err)
	return err
}

// breakerWindow applies the default to a configured window.
func breakerWindow(w time.Duration) time.Duration {
	if w == 0 {
		return DefaultBreakerWindow
	}
	return w
}
