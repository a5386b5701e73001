package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis key layout (P = Config.Prefix, default "rl:"):
//
//	P ev:{user}:event   sorted set: one member per admitted event, score =
//	                    Redis server time in µs; PEXPIRE'd to one window.
//	P subs:{user}       hash: field "instanceID|socketID" -> slots held.
//	P inst:instanceID   string with a TTL: the instance's lease.
//
// The subscription scripts read lease keys they are not given as KEYS, so
// they need a single Redis (or a primary with replicas), not Redis Cluster.

// RedisEventConfig configures a RedisEventLimiter.
type RedisEventConfig struct {
	EventConfig
	// Client is the Redis connection (required). It must honour context
	// deadlines (redis.Options.ContextTimeoutEnabled = true) so that Timeout
	// bounds every call; the constructor rejects a *redis.Client,
	// *redis.ClusterClient or *redis.Ring that does not.
	Client redis.UniversalClient
	// Prefix is put before every key. Zero means DefaultPrefix ("rl:").
	Prefix string
	// Timeout bounds each Redis call. Zero means DefaultTimeout (250 ms).
	Timeout time.Duration
	// FailOpen chooses what Allow answers when Redis fails: true admits the
	// event, false (the zero value) refuses it with RetryAfter =
	// UnavailableRetryAfter. Either way the error wraps ErrUnavailable.
	FailOpen bool
	// BreakerWindow is how long calls fail fast (by the FailOpen policy,
	// without trying Redis) after one found Redis unreachable or too slow.
	// Zero means DefaultBreakerWindow (500 ms); negative turns it off.
	BreakerWindow time.Duration
}

// RedisEventLimiter is an EventLimiter shared by every instance that uses
// the same Redis and Prefix. One Lua script per call prunes, counts and
// records atomically, with Redis server time, so instances with skewed
// clocks agree.
type RedisEventLimiter struct {
	client   redis.UniversalClient
	max      int
	window   time.Duration
	prefix   string
	timeout  time.Duration
	failOpen bool
	breaker  breaker
}

// allowScript: KEYS[1] the log; ARGV[1] window in µs, ARGV[2] max,
// ARGV[3] expiry in ms. Returns {allowed, retry-after µs, remaining}.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < max then
  -- unique member, built from TIME's exact strings (a Lua number would be
  -- printed with 14 digits): within one µs the count only grows
  redis.call('ZADD', KEYS[1], now, t[1] .. '.' .. t[2] .. ':' .. n)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, 0, max - n - 1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now, 0}
`)

// NewRedisEventLimiter returns an EventLimiter backed by Redis.
func NewRedisEventLimiter(cfg RedisEventConfig) (*RedisEventLimiter, error) {
	if err := checkClient(cfg.Client); err != nil {
		return nil, err
	}
	ec := cfg.EventConfig.withDefaults()
	if ec.Window < time.Microsecond {
		return nil, newError(CodeConfig, "new event limiter", errors.New("Window below 1µs"))
	}
	return &RedisEventLimiter{
		client:   cfg.Client,
		max:      ec.Max,
		window:   ec.Window,
		prefix:   orDefault(cfg.Prefix, DefaultPrefix),
		timeout:  orDefaultDuration(cfg.Timeout, DefaultTimeout),
		failOpen: cfg.FailOpen,
		breaker:  breaker{window: breakerWindow(cfg.BreakerWindow)},
	}, nil
}

// Allow implements EventLimiter. On a Redis failure it answers according to
// FailOpen and returns an error wrapping ErrUnavailable.
func (l *RedisEventLimiter) Allow(ctx context.Context, userKey, event string) (Decision, error) {
	key := l.prefix + "ev:{" + userKey + "}:" + event
	expiryMs := (l.window+time.Millisecond-1)/time.Millisecond + 1
	var res []int64
	err := l.breaker.run(ctx, l.timeout, func(ctx context.Context) (err error) {
		res, err = allowScript.Run(ctx, l.client, []string{key},
			l.window.Microseconds(), l.max, int64(expiryMs)).Int64Slice()
		return err
	})
	if err == nil && len(res) != 3 {
		err = errors.New("unexpected script reply")
	}
	if err != nil {
		if l.failOpen {
			return Decision{Allowed: true}, newError(CodeUnavailable, "allow", err)
		}
		return Decision{RetryAfter: UnavailableRetryAfter}, newError(CodeUnavailable, "allow", err)
	}
	if res[0] == 1 {
		return Decision{Allowed: true, Remaining: int(res[2])}, nil
	}
	return Decision{RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}

// RedisSubscriptionConfig configures a RedisSubscriptionLimiter.
type RedisSubscriptionConfig struct {
	SubscriptionConfig
	// Client is the Redis connection (required); see RedisEventConfig.Client.
	Client redis.UniversalClient
	// Prefix is put before every key. Zero means DefaultPrefix ("rl:").
	Prefix string
	// InstanceID names this server instance; it must be unique among live
	// instances and must not contain '|'. Zero means a random ID.
	InstanceID string
	// LeaseTTL is how long this instance's shares keep counting after its
	// last lease renewal; renewal runs every LeaseTTL/3. It bounds how long
	// the shares of a crashed instance stay stuck. Zero means
	// DefaultLeaseTTL (30 s).
	LeaseTTL time.Duration
	// Timeout bounds each Redis call. Zero means DefaultTimeout (250 ms).
	Timeout time.Duration
	// FailOpen chooses what Acquire answers when Redis fails: true grants
	// the slots, false (the zero value) refuses them. Either way the error
	// wraps ErrUnavailable, and the local record is re-synchronised to Redis
	// once it answers again.
	FailOpen bool
	// BreakerWindow is how long calls fail fast (by the FailOpen policy,
	// without trying Redis) after one found Redis unreachable or too slow.
	// Zero means DefaultBreakerWindow (500 ms); negative turns it off.
	BreakerWindow time.Duration
	// Logger receives warnings from the background lease renewal. Zero
	// means slog.Default().
	Logger *slog.Logger
}

// RedisSubscriptionLimiter is a SubscriptionLimiter shared by every instance
// that uses the same Redis and Prefix.
//
// Crash safety: a user's count is a hash of per-(instance, socket) shares.
// Each instance holds a lease key with TTL LeaseTTL, renewed every
// LeaseTTL/3. Counting (in Lua, atomically with the check) sums only the
// shares whose instance lease is alive and deletes the others, so the
// shares of a crashed instance stop counting at most LeaseTTL after its
// last renewal, which came before the crash. A live instance never loses
// its shares to expiry; if its lease lapses anyway (Redis restarted, or
// the instance could not reach Redis for LeaseTTL) it re-publishes its
// shares from its local record on the next successful renewal.
type RedisSubscriptionLimiter struct {
	client   redis.UniversalClient
	max      int
	prefix   string
	instance string
	leaseKey string
	leaseTTL time.Duration
	timeout  time.Duration
	failOpen bool
	log      *slog.Logger
	breaker  breaker // fail fast while Redis is down (user calls only)

	stop chan struct{}
	done chan struct{}

	// mu guards users, dirty and closed. A userShare's own mutex is held
	// across that user's Redis calls, so the local record and this
	// instance's fields in Redis change together. Never hold mu while
	// waiting for a userShare's mutex (the reverse is fine).
	mu     sync.Mutex
	users  map[string]*userShare
	dirty  map[string]struct{} // users whose fields must be re-written
	closed bool
}

// userShare is this instance's record of what it holds for one user.
type userShare struct {
	mu      sync.Mutex
	refs    int            // callers holding the share; guarded by the limiter's mu
	sockets map[string]int // socket -> slots; guarded by mu
}

// countScript sums the live shares of a user, deletes dead ones and, when
// n > 0 and it fits under max, adds n to this instance's field.
// KEYS[1] the user hash, KEYS[2] own lease; ARGV[1] lease key prefix,
// ARGV[2] field, ARGV[3] n, ARGV[4] max, ARGV[5] lease TTL ms.
// Returns {ok, count, lease was re-created}.
var countScript = redis.NewScript(`
local fresh = 0
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
  fresh = 1
end
local all = redis.call('HGETALL', KEYS[1])
local alive = {}
local sum = 0
for i = 1, #all, 2 do
  local f = all[i]
  local inst = string.match(f, '^(.-)|')
  local ok = false
  if inst then
    ok = alive[inst]
    if ok == nil then
      ok = redis.call('EXISTS', ARGV[1] .. inst) == 1
      alive[inst] = ok
    end
  end
  if ok then
    sum = sum + tonumber(all[i + 1])
  else
    redis.call('HDEL', KEYS[1], f)
  end
end
local n = tonumber(ARGV[3])
if n > 0 then
  if sum + n > tonumber(ARGV[4]) then
    return {0, sum, fresh}
  end
  redis.call('HINCRBY', KEYS[1], ARGV[2], n)
  sum = sum + n
end
return {1, sum, fresh}
`)

// releaseScript: KEYS[1] the user hash; ARGV[1] field, ARGV[2] n.
var releaseScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
if v <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
`)

// syncScript sets this instance's fields of a user hash to exact values.
// KEYS[1] the user hash; ARGV[1] "instanceID|", then field, count pairs.
// Fields of this instance not listed are deleted.
const syncSource = `
local want = {}
for i = 2, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local own = ARGV[1]
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #own) == own and want[f] == nil then
    redis.call('HDEL', KEYS[1], f)
  end
end
for f, c in pairs(want) do redis.call('HSET', KEYS[1], f, c) end
return 1
`

var syncScript = redis.NewScript(syncSource)

// renewScript: KEYS[1] the lease; ARGV[1] TTL ms. Returns 1 when the lease
// was still alive, 0 when it had lapsed.
var renewScript = redis.NewScript(`
local alive = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return alive
`)

// NewRedisSubscriptionLimiter returns a SubscriptionLimiter backed by Redis
// and starts its lease renewal. Call Close to stop it.
func NewRedisSubscriptionLimiter(cfg RedisSubscriptionConfig) (*RedisSubscriptionLimiter, error) {
	if err := checkClient(cfg.Client); err != nil {
		return nil, err
	}
	id := cfg.InstanceID
	if id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	if strings.Contains(id, "|") {
		return nil, newError(CodeConfig, "new subscription limiter", errors.New("InstanceID contains '|'"))
	}
	ttl := orDefaultDuration(cfg.LeaseTTL, DefaultLeaseTTL)
	if ttl < 3*time.Millisecond {
		return nil, newError(CodeConfig, "new subscription limiter", errors.New("LeaseTTL below 3ms"))
	}
	prefix := orDefault(cfg.Prefix, DefaultPrefix)
	l := &RedisSubscriptionLimiter{
		client:   cfg.Client,
		max:      cfg.SubscriptionConfig.withDefaults().MaxSubscriptions,
		prefix:   prefix,
		instance: id,
		leaseKey: prefix + "inst:" + id,
		leaseTTL: ttl,
		timeout:  orDefaultDuration(cfg.Timeout, DefaultTimeout),
		failOpen: cfg.FailOpen,
		breaker:  breaker{window: breakerWindow(cfg.BreakerWindow)},
		log:      cfg.Logger,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		users:    make(map[string]*userShare),
		dirty:    make(map[string]struct{}),
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.renew()
	go l.renewLoop()
	return l, nil
}

// InstanceID returns the ID this limiter's shares are stored under.
func (l *RedisSubscriptionLimiter) InstanceID() string { return l.instance }

func (l *RedisSubscriptionLimiter) userKey(userKey string) string {
	return l.prefix + "subs:{" + userKey + "}"
}

func (l *RedisSubscriptionLimiter) field(socketID string) string {
	return l.instance + "|" + socketID
}

// share returns the user's record with its mutex held; put gives it back.
func (l *RedisSubscriptionLimiter) share(userKey string) (*userShare, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	u := l.users[userKey]
	if u == nil {
		u = &userShare{sockets: make(map[string]int)}
		l.users[userKey] = u
	}
	u.refs++
	l.mu.Unlock()
	u.mu.Lock()
	return u, nil
}

// put unlocks u and forgets it when nobody uses it and it holds nothing.
// markDirty asks the renewal loop to re-write the user's fields.
func (l *RedisSubscriptionLimiter) put(userKey string, u *userShare, markDirty bool) {
	u.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if markDirty {
		l.dirty[userKey] = struct{}{}
	}
	u.refs--
	if _, d := l.dirty[userKey]; u.refs == 0 && len(u.sockets) == 0 && !d && l.users[userKey] == u {
		delete(l.users, userKey)
	}
}

func (l *RedisSubscriptionLimiter) markAllDirty() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.users {
		l.dirty[k] = struct{}{}
	}
}

func (l *RedisSubscriptionLimiter) runCount(ctx context.Context, userKey, field string, n int) (ok bool, cur int, err error) {
	var res []int64
	err = l.breaker.run(ctx, l.timeout, func(ctx context.Context) (err error) {
		res, err = countScript.Run(ctx, l.client, []string{l.userKey(userKey), l.leaseKey},
			l.prefix+"inst:", field, n, l.max, l.leaseTTL.Milliseconds()).Int64Slice()
		return err
	})
	if err == nil && len(res) != 3 {
		err = errors.New("unexpected script reply")
	}
	if err != nil {
		return false, 0, err
	}
	if res[2] == 1 {
		// Our lease had lapsed: other instances may have deleted our
		// shares. Re-publish them all from the local record.
		l.markAllDirty()
	}
	return res[0] == 1, int(res[1]), nil
}

// Acquire implements SubscriptionLimiter. On a Redis failure it answers
// according to FailOpen (ok = FailOpen, current = 0) with an error wrapping
// ErrUnavailable; slots granted that way are recorded locally and written
// to Redis once it answers again.
func (l *RedisSubscriptionLimiter) Acquire(ctx context.Context, userKey, socketID string, n int) (bool, int, error) {
	if n < 0 {
		return false, 0, newError(CodeInvalidArgument, "acquire", errors.New("negative n"))
	}
	u, err := l.share(userKey)
	if err != nil {
		return false, 0, newError(CodeClosed, "acquire", nil)
	}
	ok, cur, err := l.runCount(ctx, userKey, l.field(socketID), n)
	if err != nil {
		if l.failOpen && n > 0 {
			u.sockets[socketID] += n
		}
		// Whether or not the script ran, re-write the exact local record.
		l.put(userKey, u, true)
		return l.failOpen, 0, newError(CodeUnavailable, "acquire", err)
	}
	if ok && n > 0 {
		u.sockets[socketID] += n
	}
	l.put(userKey, u, false)
	return ok, cur, nil
}

// Release implements SubscriptionLimiter. On a Redis failure the slots are
// still released locally and written to Redis once it answers again; the
// error wraps ErrUnavailable.
func (l *RedisSubscriptionLimiter) Release(ctx context.Context, userKey, socketID string, n int) error {
	if n < 0 {
		return newError(CodeInvalidArgument, "release", errors.New("negative n"))
	}
	if n == 0 {
		return nil
	}
	u, err := l.share(userKey)
	if err != nil {
		return newError(CodeClosed, "release", nil)
	}
	if left := u.sockets[socketID] - n; left > 0 {
		u.sockets[socketID] = left
	} else {
		delete(u.sockets, socketID)
	}
	err = l.breaker.run(ctx, l.timeout, func(ctx context.Context) error {
		return releaseScript.Run(ctx, l.client, []string{l.userKey(userKey)}, l.field(socketID), n).Err()
	})
	l.put(userKey, u, err != nil)
	if err != nil {
		return newError(CodeUnavailable, "release", err)
	}
	return nil
}

// ReleaseSocket implements SubscriptionLimiter; failures as in Release.
func (l *RedisSubscriptionLimiter) ReleaseSocket(ctx context.Context, userKey, socketID string) error {
	u, err := l.share(userKey)
	if err != nil {
		return newError(CodeClosed, "release socket", nil)
	}
	delete(u.sockets, socketID)
	err = l.breaker.run(ctx, l.timeout, func(ctx context.Context) error {
		return l.client.HDel(ctx, l.userKey(userKey), l.field(socketID)).Err()
	})
	l.put(userKey, u, err != nil)
	if err != nil {
		return newError(CodeUnavailable, "release socket", err)
	}
	return nil
}

// Count implements SubscriptionLimiter. On a Redis failure it returns 0 and
// an error wrapping ErrUnavailable.
func (l *RedisSubscriptionLimiter) Count(ctx context.Context, userKey string) (int, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return 0, newError(CodeClosed, "count", nil)
	}
	_, cur, err := l.runCount(ctx, userKey, "", 0)
	if err != nil {
		return 0, newError(CodeUnavailable, "count", err)
	}
	return cur, nil
}

// closeBudget bounds the tidying part of Close: however many users the
// instance holds and whatever state Redis is in, Close returns within
// Timeout (the lease) plus closeBudget.
const closeBudget = 2 * time.Second

// closeBatch is how many users' tidy-ups Close sends in one pipeline.
const closeBatch = 256

// Close implements SubscriptionLimiter: it stops the lease renewal and
// deletes its lease first, so no instance counts this one's shares from
// then on, then deletes those shares user by user (pipelined, within
// closeBudget; what is left is dead and deleted by the next count of that
// user). If Redis fails, Close stops at the first failure and returns an
// error wrapping ErrUnavailable; the shares then stop counting when the
// lease expires (within LeaseTTL). Close is bounded in time either way.
func (l *RedisSubscriptionLimiter) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	held := make([]string, 0, len(l.users))
	users := make([]*userShare, 0, len(l.users))
	for k, u := range l.users {
		u.refs++ // keeps the entry while in-flight calls finish
		held = append(held, k)
		users = append(users, u)
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	for _, u := range users {
		u.mu.Lock() // waits for an in-flight call on this user (it may re-create the lease)
		clear(u.sockets)
		u.mu.Unlock()
	}

	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := l.client.Del(ctx, l.leaseKey).Err()
	cancel()
	if err != nil {
		return newError(CodeUnavailable, "close", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), closeBudget)
	defer cancel()
	for i := 0; i < len(held); i += closeBatch {
		j := min(i+closeBatch, len(held))
		pipe := l.client.Pipeline()
		for k := i; k < j; k++ {
			// No own field is wanted: the script deletes them all.
			pipe.Eval(ctx, syncSource, []string{l.userKey(held[k])}, l.instance+"|")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return newError(CodeUnavailable, "close", err)
		}
	}
	return nil
}

// sync writes u's record as this instance's exact fields of the user hash.
// The caller holds u.mu.
func (l *RedisSubscriptionLimiter) sync(userKey string, u *userShare) error {
	args := make([]any, 0, 1+2*len(u.sockets))
	args = append(args, l.instance+"|")
	for s, c := range u.sockets {
		args = append(args, l.field(s), c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	return syncScript.Run(ctx, l.client, []string{l.userKey(userKey)}, args...).Err()
}

func (l *RedisSubscriptionLimiter) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.renew()
		}
	}
}

// renew extends the lease and re-writes the users marked dirty (all of them
// when the lease had lapsed).
func (l *RedisSubscriptionLimiter) renew() {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	alive, err := renewScript.Run(ctx, l.client, []string{l.leaseKey}, l.leaseTTL.Milliseconds()).Int64()
	cancel()
	if err != nil {
		l.log.Warn("ratelimit: lease renewal failed", "instance", l.instance, "err", err)
		return
	}
	if alive == 0 {
		l.markAllDirty()
	}
	l.mu.Lock()
	dirty := make([]string, 0, len(l.dirty))
	for k := range l.dirty {
		dirty = append(dirty, k)
	}
	clear(l.dirty)
	l.mu.Unlock()
	for _, k := range dirty {
		u, err := l.share(k)
		if err != nil {
			return
		}
		err = l.sync(k, u)
		l.put(k, u, err != nil)
		if err != nil {
			l.log.Warn("ratelimit: re-sync of subscription shares failed", "instance", l.instance, "err", err)
		}
	}
}

func checkClient(c redis.UniversalClient) error {
	op := "new limiter"
	if c == nil {
		return newError(CodeConfig, op, errors.New("Client is nil"))
	}
	enabled := true
	switch c := c.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
	}
	if !enabled {
		return newError(CodeConfig, op, errors.New("Client needs ContextTimeoutEnabled so that Timeout bounds every call"))
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefaultDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

var (
	_ EventLimiter        = (*RedisEventLimiter)(nil)
	_ SubscriptionLimiter = (*RedisSubscriptionLimiter)(nil)
)
