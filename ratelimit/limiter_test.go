package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEventLimiter runs the same cases against every implementation.
func TestEventLimiter(t *testing.T) {
	cases := []struct {
		name string
		cfg  EventConfig
		run  func(t *testing.T, l EventLimiter, cfg EventConfig)
	}{
		{"admits Max then refuses, per user and event", EventConfig{Max: 3, Window: 10 * time.Second}, testFillRefuse},
		{"sliding window lets in only what expired", EventConfig{Max: 4, Window: 600 * time.Millisecond}, testSlidingBoundary},
		{"refused events are not recorded", EventConfig{Max: 2, Window: 400 * time.Millisecond}, testHammerNotLockedOut},
		{"RetryAfter is when the oldest entry expires", EventConfig{Max: 1, Window: 500 * time.Millisecond}, testRetryAfter},
		{"concurrent callers never exceed Max", EventConfig{Max: 25, Window: 30 * time.Second}, testConcurrentAllow},
		{"zero config means 10 per 60s", EventConfig{}, testDefaults},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, b.events(t, tc.cfg), tc.cfg)
				})
			}
		})
	}
}

func testFillRefuse(t *testing.T, l EventLimiter, cfg EventConfig) {
	for i := range cfg.Max {
		d := mustAllow(t, l, "u1", "subscribe:watchlist")
		if !d.Allowed || d.Remaining != cfg.Max-1-i || d.RetryAfter != 0 {
			t.Fatalf("event %d: got %+v, want allowed with %d remaining", i, d, cfg.Max-1-i)
		}
	}
	d := mustAllow(t, l, "u1", "subscribe:watchlist")
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("over Max: got %+v, want refused", d)
	}
	if d.RetryAfter <= cfg.Window-2*time.Second || d.RetryAfter > cfg.Window {
		t.Fatalf("RetryAfter %v, want close to %v", d.RetryAfter, cfg.Window)
	}
	if d := mustAllow(t, l, "u1", "unsubscribe:watchlist"); !d.Allowed {
		t.Fatalf("other event shares the budget: %+v", d)
	}
	if d := mustAllow(t, l, "u2", "subscribe:watchlist"); !d.Allowed {
		t.Fatalf("other user shares the budget: %+v", d)
	}
}

// Two events at tA, two at tB = tA+W/2: the window is full. A fixed bucket
// would admit a whole new batch at its boundary; the sliding window admits
// exactly the two slots of tA once they expire, and refuses until tB's expire.
func testSlidingBoundary(t *testing.T, l EventLimiter, cfg EventConfig) {
	const ev = "subscribe:portfolio"
	tA := time.Now()
	for range 2 {
		if d := mustAllow(t, l, "u", ev); !d.Allowed {
			t.Fatalf("batch A refused: %+v", d)
		}
	}
	time.Sleep(time.Until(tA.Add(cfg.Window / 2)))
	// Times are read so that they bound the limiter's own stamps (Redis
	// server time): before a call for a lower bound, after it for an upper.
	tB := time.Now()
	var tB1 time.Time // after the first event of batch B was stamped
	for i := range 2 {
		if d := mustAllow(t, l, "u", ev); !d.Allowed {
			t.Fatalf("batch B refused: %+v", d)
		}
		if i == 0 {
			tB1 = time.Now()
		}
	}
	if d := mustAllow(t, l, "u", ev); d.Allowed {
		t.Fatalf("window full but admitted: %+v", d)
	}
	var first time.Time
	eventually(t, cfg.Window+time.Second, "a slot frees up", func() bool {
		ok := mustAllow(t, l, "u", ev).Allowed
		first = time.Now()
		return ok
	})
	if got := first.Sub(tA); got < cfg.Window-5*time.Millisecond {
		t.Fatalf("admitted %v after batch A, before its window of %v ended", got, cfg.Window)
	}
	if d := mustAllow(t, l, "u", ev); !d.Allowed {
		t.Fatalf("second expired slot of batch A not given back: %+v", d)
	}
	before := time.Now()
	d := mustAllow(t, l, "u", ev)
	if since := time.Since(tB); since >= cfg.Window {
		t.Fatalf("test too slow: %v since batch B, the check needs < %v", since, cfg.Window)
	}
	if d.Allowed {
		t.Fatalf("admitted a third event while batch B is still in the window: %+v", d)
	}
	if max := tB1.Add(cfg.Window).Sub(before) + time.Millisecond; d.RetryAfter <= 0 || d.RetryAfter > max {
		t.Fatalf("RetryAfter %v, want in (0, %v] (until batch B expires)", d.RetryAfter, max)
	}
}

func testHammerNotLockedOut(t *testing.T, l EventLimiter, cfg EventConfig) {
	t0 := time.Now()
	for range cfg.Max {
		if d := mustAllow(t, l, "u", "e"); !d.Allowed {
			t.Fatalf("refused within Max: %+v", d)
		}
	}
	refused := 0
	eventually(t, cfg.Window+time.Second, "admitted again while hammering", func() bool {
		if mustAllow(t, l, "u", "e").Allowed {
			return true
		}
		refused++
		return false
	})
	elapsed := time.Since(t0)
	if refused == 0 {
		t.Fatal("never refused: the test did not hammer")
	}
	if elapsed < cfg.Window-5*time.Millisecond || elapsed > cfg.Window+500*time.Millisecond {
		t.Fatalf("admitted again after %v (%d refused tries), want about %v", elapsed, refused, cfg.Window)
	}
}

func testRetryAfter(t *testing.T, l EventLimiter, cfg EventConfig) {
	t0 := time.Now()
	if d := mustAllow(t, l, "u", "e"); !d.Allowed {
		t.Fatalf("first refused: %+v", d)
	}
	d := mustAllow(t, l, "u", "e")
	refusedAt := time.Now()
	if d.Allowed {
		t.Fatalf("second admitted: %+v", d)
	}
	if low := cfg.Window - refusedAt.Sub(t0) - 5*time.Millisecond; d.RetryAfter < low || d.RetryAfter > cfg.Window {
		t.Fatalf("RetryAfter %v, want in [%v, %v]", d.RetryAfter, low, cfg.Window)
	}
	time.Sleep(d.RetryAfter)
	eventually(t, 200*time.Millisecond, "admitted right after RetryAfter", func() bool {
		return mustAllow(t, l, "u", "e").Allowed
	})
}

func testConcurrentAllow(t *testing.T, l EventLimiter, cfg EventConfig) {
	var allowed, calls atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			for range 5 {
				d, err := l.Allow(context.Background(), "u", "e")
				if err != nil {
					t.Error(err)
					return
				}
				calls.Add(1)
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if calls.Load() != 200 || allowed.Load() != int64(cfg.Max) {
		t.Fatalf("%d of %d calls admitted, want exactly %d", allowed.Load(), calls.Load(), cfg.Max)
	}
}

func testDefaults(t *testing.T, l EventLimiter, _ EventConfig) {
	for i := range DefaultMax {
		if d := mustAllow(t, l, "u", "e"); !d.Allowed {
			t.Fatalf("event %d refused: %+v", i, d)
		}
	}
	d := mustAllow(t, l, "u", "e")
	if d.Allowed || d.RetryAfter <= DefaultWindow-5*time.Second || d.RetryAfter > DefaultWindow {
		t.Fatalf("event 11: %+v, want refused for about %v", d, DefaultWindow)
	}
}

type subOp int

const (
	opAcquire subOp = iota
	opRelease
	opReleaseSocket
	opCount
)

type subStep struct {
	op     subOp
	user   string
	socket string
	n      int
	ok     bool // opAcquire
	cur    int  // opAcquire, opCount
}

func acq(user, socket string, n int, ok bool, cur int) subStep {
	return subStep{op: opAcquire, user: user, socket: socket, n: n, ok: ok, cur: cur}
}
func rel(user, socket string, n int) subStep {
	return subStep{op: opRelease, user: user, socket: socket, n: n}
}
func relSock(user, socket string) subStep {
	return subStep{op: opReleaseSocket, user: user, socket: socket}
}
func count(user string, cur int) subStep { return subStep{op: opCount, user: user, cur: cur} }

// TestSubscriptionLimiter runs the same cases against every implementation.
func TestSubscriptionLimiter(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		steps []subStep
	}{
		{"all or nothing against the cap", 5, []subStep{
			acq("u", "s1", 3, true, 3),
			acq("u", "s1", 3, false, 3),
			acq("u", "s2", 3, false, 3),
			acq("u", "s2", 2, true, 5),
			acq("u", "s3", 0, true, 5),
			acq("u", "s3", 1, false, 5),
			count("u", 5),
		}},
		{"release gives back what the socket holds, no more", 5, []subStep{
			acq("u", "s1", 3, true, 3),
			acq("u", "s2", 2, true, 5),
			rel("u", "s1", 2),
			count("u", 3),
			acq("u", "s3", 2, true, 5),
			rel("u", "s1", 9), // holds 1: frees 1, not 9
			count("u", 4),
			rel("u", "s9", 1), // holds nothing
			rel("u", "s2", 0),
			count("u", 4),
			acq("u", "s1", 2, false, 4),
			acq("u", "s1", 1, true, 5),
		}},
		{"release socket gives back everything it held", 5, []subStep{
			acq("u", "s1", 3, true, 3),
			acq("u", "s2", 2, true, 5),
			relSock("u", "s1"),
			count("u", 2),
			acq("u", "s3", 3, true, 5),
			relSock("u", "s9"),
			relSock("u", "s1"),
			count("u", 5),
			relSock("u", "s2"),
			relSock("u", "s3"),
			count("u", 0),
		}},
		{"users are independent", 2, []subStep{
			acq("u1", "s1", 2, true, 2),
			acq("u2", "s1", 2, true, 2),
			acq("u1", "s2", 1, false, 2),
			count("u2", 2),
			count("nobody", 0),
		}},
		{"zero MaxSubscriptions means 50", 0, []subStep{
			acq("u", "s1", 50, true, 50),
			acq("u", "s2", 1, false, 50),
		}},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					l := b.subs(t, SubscriptionConfig{MaxSubscriptions: tc.max})
					runSteps(t, l, tc.steps)
				})
			}
			t.Run("negative n is invalid", func(t *testing.T) {
				l := b.subs(t, SubscriptionConfig{})
				if _, _, err := l.Acquire(context.Background(), "u", "s", -1); !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("Acquire(-1): %v, want ErrInvalidArgument", err)
				}
				if err := l.Release(context.Background(), "u", "s", -1); !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("Release(-1): %v, want ErrInvalidArgument", err)
				}
			})
			t.Run("closed limiter refuses calls", func(t *testing.T) {
				l := b.subs(t, SubscriptionConfig{})
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				ctx := context.Background()
				if ok, _, err := l.Acquire(ctx, "u", "s", 1); ok || !errors.Is(err, ErrClosed) {
					t.Fatalf("Acquire after Close: %v %v, want false ErrClosed", ok, err)
				}
				if _, err := l.Count(ctx, "u"); !errors.Is(err, ErrClosed) {
					t.Fatalf("Count after Close: %v", err)
				}
				if err := l.ReleaseSocket(ctx, "u", "s"); !errors.Is(err, ErrClosed) {
					t.Fatalf("ReleaseSocket after Close: %v", err)
				}
			})
			t.Run("concurrent acquires never exceed the cap", func(t *testing.T) {
				l := b.subs(t, SubscriptionConfig{MaxSubscriptions: 10})
				var granted atomic.Int64
				var wg sync.WaitGroup
				for i := range 30 {
					wg.Go(func() {
						ok, cur, err := l.Acquire(context.Background(), "u", fmt.Sprintf("s%d", i%7), 1)
						if err != nil {
							t.Error(err)
						}
						if cur > 10 {
							t.Errorf("current %d over the cap", cur)
						}
						if ok {
							granted.Add(1)
						}
					})
				}
				wg.Wait()
				n, err := l.Count(context.Background(), "u")
				if err != nil || granted.Load() != 10 || n != 10 {
					t.Fatalf("granted %d, count %d (%v), want 10 and 10", granted.Load(), n, err)
				}
			})
		})
	}
}

func runSteps(t *testing.T, l SubscriptionLimiter, steps []subStep) {
	t.Helper()
	ctx := context.Background()
	for i, s := range steps {
		switch s.op {
		case opAcquire:
			ok, cur, err := l.Acquire(ctx, s.user, s.socket, s.n)
			if err != nil || ok != s.ok || cur != s.cur {
				t.Fatalf("step %d: Acquire(%s, %s, %d) = %v, %d, %v; want %v, %d", i, s.user, s.socket, s.n, ok, cur, err, s.ok, s.cur)
			}
		case opRelease:
			if err := l.Release(ctx, s.user, s.socket, s.n); err != nil {
				t.Fatalf("step %d: Release: %v", i, err)
			}
		case opReleaseSocket:
			if err := l.ReleaseSocket(ctx, s.user, s.socket); err != nil {
				t.Fatalf("step %d: ReleaseSocket: %v", i, err)
			}
		case opCount:
			n, err := l.Count(ctx, s.user)
			if err != nil || n != s.cur {
				t.Fatalf("step %d: Count(%s) = %d, %v; want %d", i, s.user, n, err, s.cur)
			}
		}
	}
}
