package ratelimit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/internal/testenv"
)

func newRedisSubs(t testing.TB, client redis.UniversalClient, cfg RedisSubscriptionConfig) *RedisSubscriptionLimiter {
	t.Helper()
	cfg.Client = client
	if cfg.Logger == nil { // renewal warnings are expected in outage tests
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l, err := NewRedisSubscriptionLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestRedisConfig(t *testing.T) {
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer noCtx.Close()
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer ok.Close()
	cases := []struct {
		name string
		err  func() error
	}{
		{"event: nil client", func() error { _, err := NewRedisEventLimiter(RedisEventConfig{}); return err }},
		{"event: client ignores deadlines", func() error {
			_, err := NewRedisEventLimiter(RedisEventConfig{Client: noCtx})
			return err
		}},
		{"subs: client ignores deadlines", func() error {
			_, err := NewRedisSubscriptionLimiter(RedisSubscriptionConfig{Client: noCtx})
			return err
		}},
		{"subs: instance ID with separator", func() error {
			_, err := NewRedisSubscriptionLimiter(RedisSubscriptionConfig{Client: ok, InstanceID: "a|b"})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

// TestRedisKeys checks the key layout, the default prefix and that idle
// event logs vanish.
func TestRedisKeys(t *testing.T) {
	r := testenv.StartRedis(t)
	c := newClient(t, r.Addr)
	ctx := context.Background()

	ev, err := NewRedisEventLimiter(RedisEventConfig{Client: c, EventConfig: EventConfig{Window: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	mustAllow(t, ev, "u1", "subscribe:trades")
	key := "rl:ev:{u1}:subscribe:trades"
	if ttl := c.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 302*time.Millisecond {
		t.Fatalf("PTTL(%s) = %v, want in (0, 302ms]", key, ttl)
	}
	eventually(t, 2*time.Second, "idle event log expires", func() bool {
		return c.Exists(ctx, key).Val() == 0
	})

	subs := newRedisSubs(t, c, RedisSubscriptionConfig{InstanceID: "i1", LeaseTTL: 900 * time.Millisecond})
	if ok, _, err := subs.Acquire(ctx, "u1", "sock1", 3); !ok || err != nil {
		t.Fatalf("Acquire: %v %v", ok, err)
	}
	if got := c.HGetAll(ctx, "rl:subs:{u1}").Val(); len(got) != 1 || got["i1|sock1"] != "3" {
		t.Fatalf("hash = %v, want i1|sock1=3", got)
	}
	if ttl := c.PTTL(ctx, "rl:inst:i1").Val(); ttl <= 0 || ttl > 900*time.Millisecond {
		t.Fatalf("lease PTTL = %v", ttl)
	}
	// A field of an instance without a lease is not counted and is removed.
	c.HSet(ctx, "rl:subs:{u1}", "ghost|s", 40, "malformed", 7)
	if n, err := subs.Count(ctx, "u1"); n != 3 || err != nil {
		t.Fatalf("Count with a dead share = %d, %v; want 3", n, err)
	}
	if got := c.HKeys(ctx, "rl:subs:{u1}").Val(); len(got) != 1 {
		t.Fatalf("dead fields not removed: %v", got)
	}
	if err := subs.ReleaseSocket(ctx, "u1", "sock1"); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx, "rl:subs:{u1}").Val() != 0 {
		t.Fatal("empty user hash left behind")
	}
}

// TestRedisSharedAcrossInstances: two limiters (own clients, own instance
// IDs) on one Redis share both budgets; Close gives back what one held.
func TestRedisSharedAcrossInstances(t *testing.T) {
	r := testenv.StartRedis(t)
	ca, cb := newClient(t, r.Addr), newClient(t, r.Addr)
	ctx := context.Background()

	evCfg := EventConfig{Max: 4, Window: 10 * time.Second}
	evA, _ := NewRedisEventLimiter(RedisEventConfig{EventConfig: evCfg, Client: ca})
	evB, _ := NewRedisEventLimiter(RedisEventConfig{EventConfig: evCfg, Client: cb})
	for i, l := range []EventLimiter{evA, evB, evA, evB} {
		if d := mustAllow(t, l, "u", "subscribe:watchlist"); !d.Allowed || d.Remaining != 3-i {
			t.Fatalf("event %d: %+v", i, d)
		}
	}
	for _, l := range []EventLimiter{evA, evB} {
		if d := mustAllow(t, l, "u", "subscribe:watchlist"); d.Allowed {
			t.Fatalf("instance over the shared budget: %+v", d)
		}
	}

	subCfg := SubscriptionConfig{MaxSubscriptions: 5}
	a := newRedisSubs(t, ca, RedisSubscriptionConfig{SubscriptionConfig: subCfg, InstanceID: "A"})
	b := newRedisSubs(t, cb, RedisSubscriptionConfig{SubscriptionConfig: subCfg, InstanceID: "B"})
	runSteps(t, a, []subStep{acq("u", "sa", 3, true, 3)})
	runSteps(t, b, []subStep{
		acq("u", "sb", 3, false, 3),
		acq("u", "sb", 2, true, 5),
	})
	runSteps(t, a, []subStep{count("u", 5), acq("u", "sa2", 1, false, 5)})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	runSteps(t, b, []subStep{count("u", 2), acq("u", "sb2", 3, true, 5)})
	if cb.Exists(ctx, "rl:inst:A").Val() != 0 {
		t.Fatal("Close left the lease behind")
	}
}

const (
	crashHelperEnv = "RATELIMIT_CRASH_HELPER_ADDR"
	crashLeaseTTL  = 1500 * time.Millisecond
	crashCap       = 5
)

func crashConfig() RedisSubscriptionConfig {
	return RedisSubscriptionConfig{
		SubscriptionConfig: SubscriptionConfig{MaxSubscriptions: crashCap},
		LeaseTTL:           crashLeaseTTL,
	}
}

// runCrashHelper is instance A of TestRedisCrashedInstance, in its own
// process: it takes the whole cap for user "u", says READY and waits to be
// killed.
func runCrashHelper(addr string) int {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	cfg := crashConfig()
	cfg.Client, cfg.InstanceID = c, "A"
	l, err := NewRedisSubscriptionLimiter(cfg)
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	ok, cur, err := l.Acquire(context.Background(), "u", "socketA", crashCap)
	if !ok || err != nil {
		fmt.Println("ERROR acquire", ok, cur, err)
		return 1
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // the test kills us long before
	fmt.Println("ERROR not killed")
	return 1
}

// TestRedisCrashedInstance: instance A (a separate process) holds the cap
// and is SIGKILLed. Instance B refuses the user while A's lease lives and
// accepts once it has run out, within LeaseTTL of the kill.
func TestRedisCrashedInstance(t *testing.T) {
	r := testenv.StartRedis(t)
	c := newClient(t, r.Addr)
	ctx := context.Background()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+r.Addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); line == "READY" || strings.HasPrefix(line, "ERROR") {
				ready <- line
				return
			}
		}
		ready <- "EOF"
	}()
	select {
	case line := <-ready:
		if line != "READY" {
			t.Fatalf("instance A: %s", line)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("instance A not ready")
	}

	cfg := crashConfig()
	cfg.InstanceID = "B"
	b := newRedisSubs(t, c, cfg)
	runSteps(t, b, []subStep{count("u", crashCap), acq("u", "socketB", 1, false, crashCap)})

	// While A lives, renewal keeps its share beyond the lease TTL.
	time.Sleep(2 * crashLeaseTTL)
	runSteps(t, b, []subStep{count("u", crashCap)})

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()

	ok, cur, err := b.Acquire(ctx, "u", "socketB", 1)
	if since := time.Since(killed); since > crashLeaseTTL*2/3-100*time.Millisecond {
		t.Fatalf("first check %v after the kill: too late to prove anything", since)
	}
	if ok || cur != crashCap || err != nil {
		t.Fatalf("right after the crash: %v %d %v, want refused at %d", ok, cur, err, crashCap)
	}
	eventually(t, crashLeaseTTL+time.Second, "accepted after A's lease ran out", func() bool {
		ok, cur, err = b.Acquire(ctx, "u", "socketB", 1)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	since := time.Since(killed)
	if since > crashLeaseTTL+200*time.Millisecond {
		t.Fatalf("accepted %v after the kill, want within LeaseTTL %v", since, crashLeaseTTL)
	}
	t.Logf("instance A killed: user refused at once, accepted %v later (LeaseTTL %v)", since.Round(time.Millisecond), crashLeaseTTL)
	if cur != 1 {
		t.Fatalf("count after A's share died = %d, want 1", cur)
	}
	if keys := c.HKeys(ctx, "rl:subs:{u}").Val(); len(keys) != 1 || keys[0] != "B|socketB" {
		t.Fatalf("hash fields = %v, want only B's", keys)
	}
}

// TestRedisOutage: with Redis killed every call returns within Timeout,
// wraps ErrUnavailable and follows the FailOpen policy; after a restart
// (empty data) calls work again and the live instance re-publishes what it
// holds, including slots it granted while failing open.
func TestRedisOutage(t *testing.T) {
	const timeout = 150 * time.Millisecond
	const slack = 250 * time.Millisecond
	for _, failOpen := range []bool{true, false} {
		t.Run(fmt.Sprintf("FailOpen=%v", failOpen), func(t *testing.T) {
			r := testenv.StartRedis(t)
			ca, cb := newClient(t, r.Addr), newClient(t, r.Addr)
			ctx := context.Background()
			ev, err := NewRedisEventLimiter(RedisEventConfig{Client: ca, Timeout: timeout, FailOpen: failOpen})
			if err != nil {
				t.Fatal(err)
			}
			cfg := RedisSubscriptionConfig{
				SubscriptionConfig: SubscriptionConfig{MaxSubscriptions: 10},
				LeaseTTL:           600 * time.Millisecond, Timeout: timeout, FailOpen: failOpen,
			}
			cfg.InstanceID = "A"
			a := newRedisSubs(t, ca, cfg)
			cfg.InstanceID = "B"
			b := newRedisSubs(t, cb, cfg)
			runSteps(t, a, []subStep{acq("u", "s1", 3, true, 3)})

			r.Kill()
			calls := []struct {
				name string
				call func() error
			}{
				{"Allow", func() error {
					d, err := ev.Allow(ctx, "u", "e")
					if d.Allowed != failOpen {
						t.Errorf("Allow during outage: %+v, want Allowed=%v", d, failOpen)
					}
					if !failOpen && d.RetryAfter != UnavailableRetryAfter {
						t.Errorf("RetryAfter %v", d.RetryAfter)
					}
					return err
				}},
				{"Acquire", func() error {
					ok, _, err := a.Acquire(ctx, "u", "s2", 2)
					if ok != failOpen {
						t.Errorf("Acquire during outage: %v, want %v", ok, failOpen)
					}
					return err
				}},
				{"Count", func() error { _, err := a.Count(ctx, "u"); return err }},
				{"Release", func() error { return a.Release(ctx, "u", "s9", 1) }},
				{"ReleaseSocket", func() error { return a.ReleaseSocket(ctx, "u", "s8") }},
			}
			for _, c := range calls {
				start := time.Now()
				err := c.call()
				if d := time.Since(start); d > timeout+slack {
					t.Errorf("%s took %v, want within %v", c.name, d, timeout)
				}
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: %v, want ErrUnavailable", c.name, err)
				}
				var e *Error
				if errors.As(err, &e) && e.Err == nil {
					t.Errorf("%s: the cause is lost: %v", c.name, err)
				}
			}

			r.Restart()
			eventually(t, 5*time.Second, "Allow works after the restart", func() bool {
				_, err := ev.Allow(ctx, "u", "e")
				return err == nil
			})
			want := 3
			if failOpen {
				want = 5 // s2's 2 slots were granted while failing open
			}
			eventually(t, 5*time.Second, fmt.Sprintf("instance A re-publishes %d slots", want), func() bool {
				n, err := b.Count(ctx, "u")
				return err == nil && n == want
			})
			runSteps(t, b, []subStep{acq("u", "sb", 11-want, false, want), acq("u", "sb", 10-want, true, 10)})
		})
	}
}

// TestRedisNoAnswer: a server that accepts connections and never answers
// (a hung Redis) must not hang the caller either.
func TestRedisNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	const timeout = 100 * time.Millisecond
	c := newClient(t, ln.Addr().String())
	ev, err := NewRedisEventLimiter(RedisEventConfig{Client: c, Timeout: timeout, FailOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	subs := newRedisSubs(t, c, RedisSubscriptionConfig{Timeout: timeout})
	checks := []struct {
		name string
		call func() error
	}{
		{"NewRedisSubscriptionLimiter", func() error { return ErrUnavailable }},
		{"Allow", func() error {
			d, err := ev.Allow(context.Background(), "u", "e")
			if !d.Allowed {
				t.Errorf("fail-open Allow refused: %+v", d)
			}
			return err
		}},
		{"Acquire", func() error {
			ok, _, err := subs.Acquire(context.Background(), "u", "s", 1)
			if ok {
				t.Error("fail-closed Acquire granted")
			}
			return err
		}},
		{"Close", subs.Close},
	}
	for _, ch := range checks {
		err := ch.call()
		if d := time.Since(start); d > 3*timeout+300*time.Millisecond {
			t.Errorf("%s took %v with Timeout %v", ch.name, d, timeout)
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", ch.name, err)
		}
		start = time.Now()
	}
}

// TestRedisCloseManyUsers: Close deletes the lease and every share of an
// instance holding thousands of users; with Redis dead it gives up at once
// (one Timeout) instead of retrying user by user (a shutdown once hung
// here for minutes with 10,000 users and Redis gone).
func TestRedisCloseManyUsers(t *testing.T) {
	const users = 3000
	const timeout = 200 * time.Millisecond
	fill := func(t *testing.T, l *RedisSubscriptionLimiter) {
		ctx := context.Background()
		for i := range users {
			if ok, _, err := l.Acquire(ctx, fmt.Sprintf("u%d", i), "s", 1); !ok || err != nil {
				t.Fatalf("acquire u%d: %v %v", i, ok, err)
			}
		}
	}
	cfg := RedisSubscriptionConfig{SubscriptionConfig: SubscriptionConfig{MaxSubscriptions: 5}, InstanceID: "A", Timeout: timeout}

	t.Run("redis up", func(t *testing.T) {
		r := testenv.StartRedis(t)
		c := newClient(t, r.Addr)
		l := newRedisSubs(t, c, cfg)
		fill(t, l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if c.Exists(ctx, "rl:inst:A").Val() != 0 {
			t.Fatal("Close left the lease behind")
		}
		keys, err := c.Keys(ctx, "rl:subs:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Fatalf("Close left %d user hashes, e.g. %s: %v", len(keys), keys[0], c.HGetAll(ctx, keys[0]).Val())
		}
	})

	t.Run("redis dead", func(t *testing.T) {
		r := testenv.StartRedis(t)
		l := newRedisSubs(t, newClient(t, r.Addr), cfg)
		fill(t, l)
		r.Kill()
		// Releases fail now and leave every user to be written later.
		for i := range 50 {
			if err := l.ReleaseSocket(context.Background(), fmt.Sprintf("u%d", i), "s"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("release with Redis dead: %v", err)
			}
		}
		start := time.Now()
		err := l.Close()
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("Close took %v with Redis dead, want about Timeout (%v)", d, timeout)
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("Close: %v, want ErrUnavailable", err)
		}
	})
}

// TestRedisBreakerFailsFast: once a call found Redis dead, the calls in the
// next BreakerWindow answer at once (by the FailOpen policy, with the
// failure as cause) instead of each waiting Timeout; after the window Redis
// is tried again, and once it is back the calls work.
func TestRedisBreakerFailsFast(t *testing.T) {
	const timeout = 300 * time.Millisecond
	// A long window: a stalled test machine must not see it end mid-test.
	const window = 3 * time.Second
	r := testenv.StartRedis(t)
	c := newClient(t, r.Addr)
	ctx := context.Background()
	ev, err := NewRedisEventLimiter(RedisEventConfig{Client: c, Timeout: timeout, FailOpen: true, BreakerWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	subs := newRedisSubs(t, c, RedisSubscriptionConfig{SubscriptionConfig: SubscriptionConfig{MaxSubscriptions: 5}, Timeout: timeout, FailOpen: true, BreakerWindow: window})
	r.Kill()

	// The first call of each limiter meets the dead Redis and opens its breaker.
	if d, err := ev.Allow(ctx, "u", "e"); !d.Allowed || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first Allow: %+v %v", d, err)
	}
	if err := subs.ReleaseSocket(ctx, "u", "s0"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first ReleaseSocket: %v", err)
	}
	// 100 calls of each kind in the window: if each waited Timeout they
	// would take 90 s; failing fast they take milliseconds.
	start := time.Now()
	for i := range 100 {
		d, err := ev.Allow(ctx, "u", "e")
		if !d.Allowed || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not calling redis") {
			t.Fatalf("Allow %d in the window: %+v %v", i, d, err)
		}
		if ok, _, err := subs.Acquire(ctx, "u", fmt.Sprintf("s%d", i), 0); ok != true || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Acquire %d in the window: %v %v", i, ok, err)
		}
		if err := subs.ReleaseSocket(ctx, "u", fmt.Sprintf("s%d", i)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("ReleaseSocket %d in the window: %v", i, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("300 calls with the breaker open took %v; waiting Timeout each would be 90 s, failing fast well under 2 s", d)
	}
	var e *Error
	if _, err := ev.Allow(ctx, "u", "e"); !errors.As(err, &e) || e.Err == nil || !strings.Contains(err.Error(), "after a failure: ") {
		t.Errorf("the breaker's error lost the cause: %v", err)
	}

	r.Restart()
	i := 0
	eventually(t, window+5*time.Second, "both limiters work once Redis is back", func() bool {
		i++ // a fresh event each time: the rate limit must not be what answers
		d, err1 := ev.Allow(ctx, "u", fmt.Sprintf("e%d", i))
		_, err2 := subs.Count(ctx, "u")
		return err1 == nil && d.Allowed && err2 == nil
	})
}
