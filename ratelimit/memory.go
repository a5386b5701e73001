package ratelimit

import (
	"context"
	"sync"
	"time"
)

// MemoryEventLimiter is an EventLimiter for a single server instance: a
// sliding log of admission times per (user, event) pair, at most Max long. Idle pairs are swept at most once per Window, amortised over
// Allow calls, so memory stays bounded by the pairs active in one window.
type MemoryEventLimiter struct {
	max    int
	window time.Duration
	base   time.Time // monotonic origin of the stored offsets

	mu        sync.Mutex
	logs      map[eventKey]*slidingLog
	lastSweep time.Duration
}

type eventKey struct{ user, event string }

// slidingLog holds admission times (offsets from base), oldest first. It
// grows with use, not to Max up front, and append compacts it.
type slidingLog struct {
	times []time.Duration
}

// NewMemoryEventLimiter returns an in-process EventLimiter.
func NewMemoryEventLimiter(cfg EventConfig) *MemoryEventLimiter {
	cfg = cfg.withDefaults()
	return &MemoryEventLimiter{
		max:    cfg.Max,
		window: cfg.Window,
		base:   time.Now(),
		logs:   make(map[eventKey]*slidingLog),
	}
}

// Allow implements EventLimiter. It never returns an error.
func (m *MemoryEventLimiter) Allow(_ context.Context, userKey, event string) (Decision, error) {
	now := time.Since(m.base)
	m.mu.Lock()
	defer m.mu.Unlock()
	if now-m.lastSweep >= m.window {
		m.sweep(now)
	}
	k := eventKey{userKey, event}
	l := m.logs[k]
	if l == nil {
		l = &slidingLog{}
		m.logs[k] = l
	}
	l.expire(now, m.window)
	if len(l.times) < m.max {
		l.times = append(l.times, now)
		return Decision{Allowed: true, Remaining: m.max - len(l.times)}, nil
	}
	return Decision{RetryAfter: l.times[0] + m.window - now}, nil
}

// expire drops the entries whose window has passed: an entry admitted at t
// counts during [t, t+window).
func (l *slidingLog) expire(now, window time.Duration) {
	i := 0
	for i < len(l.times) && now >= l.times[i]+window {
		i++
	}
	l.times = l.times[i:]
}

func (m *MemoryEventLimiter) sweep(now time.Duration) {
	for k, l := range m.logs {
		l.expire(now, m.window)
		if len(l.times) == 0 {
			delete(m.logs, k)
		}
	}
	m.lastSweep = now
}

// MemorySubscriptionLimiter is a SubscriptionLimiter for a single server
// instance. It cannot leak across crashes: its state dies with the process.
type MemorySubscriptionLimiter struct {
	max int

	mu     sync.Mutex
	users  map[string]map[string]int // user -> socket -> slots held
	closed bool
}

// NewMemorySubscriptionLimiter returns an in-process SubscriptionLimiter.
func NewMemorySubscriptionLimiter(cfg SubscriptionConfig) *MemorySubscriptionLimiter {
	cfg = cfg.withDefaults()
	return &MemorySubscriptionLimiter{max: cfg.MaxSubscriptions, users: make(map[string]map[string]int)}
}

func (m *MemorySubscriptionLimiter) count(userKey string) int {
	total := 0
	for _, c := range m.users[userKey] {
		total += c
	}
	return total
}

// Acquire implements SubscriptionLimiter.
func (m *MemorySubscriptionLimiter) Acquire(_ context.Context, userKey, socketID string, n int) (bool, int, error) {
	if n < 0 {
		return false, 0, newError(CodeInvalidArgument, "acquire", nil)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, 0, newError(CodeClosed, "acquire", nil)
	}
	cur := m.count(userKey)
	if n == 0 {
		return true, cur, nil
	}
	if cur+n > m.max {
		return false, cur, nil
	}
	socks := m.users[userKey]
	if socks == nil {
		socks = make(map[string]int)
		m.users[userKey] = socks
	}
	socks[socketID] += n
	return true, cur + n, nil
}

// Release implements SubscriptionLimiter.
func (m *MemorySubscriptionLimiter) Release(_ context.Context, userKey, socketID string, n int) error {
	if n < 0 {
		return newError(CodeInvalidArgument, "release", nil)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return newError(CodeClosed, "release", nil)
	}
	socks := m.users[userKey]
	if socks == nil {
		return nil
	}
	if left := socks[socketID] - n; left > 0 {
		socks[socketID] = left
		return nil
	}
	m.dropSocket(userKey, socks, socketID)
	return nil
}

// ReleaseSocket implements SubscriptionLimiter.
func (m *MemorySubscriptionLimiter) ReleaseSocket(_ context.Context, userKey, socketID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return newError(CodeClosed, "release socket", nil)
	}
	if socks := m.users[userKey]; socks != nil {
		m.dropSocket(userKey, socks, socketID)
	}
	return nil
}

func (m *MemorySubscriptionLimiter) dropSocket(userKey string, socks map[string]int, socketID string) {
	delete(socks, socketID)
	if len(socks) == 0 {
		delete(m.users, userKey)
	}
}

// Count implements SubscriptionLimiter.
func (m *MemorySubscriptionLimiter) Count(_ context.Context, userKey string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, newError(CodeClosed, "count", nil)
	}
	return m.count(userKey), nil
}

// Close implements SubscriptionLimiter: it forgets every count.
func (m *MemorySubscriptionLimiter) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.users = nil
	return nil
}

var (
	_ EventLimiter        = (*MemoryEventLimiter)(nil)
	_ SubscriptionLimiter = (*MemorySubscriptionLimiter)(nil)
)
