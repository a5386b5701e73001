// Package ratelimit holds the two per-user limits of the realtime server
// (see shared/EVENTS.md, "Limits"):
//
//   - an event rate limit: at most Max events of each (user, event) pair per
//     sliding Window, counted across all the user's sockets and instances;
//   - a subscription cap: at most MaxSubscriptions concurrent (socket, room)
//     pairs per user, counted across all the user's sockets and instances.
//
// Each limit is a small interface with a memory implementation (one server
// instance, memory.go) and a Redis implementation (many instances,
// redis.go). The Redis subscription cap is crash safe: every instance keeps
// its own share of a user's count under a lease it renews, so the shares of
// an instance that dies stop counting within one LeaseTTL.
package ratelimit

import (
	"context"
	"time"
)

// Defaults used when a Config field is left at its zero value.
const (
	DefaultMax              = 10
	DefaultWindow           = 60 * time.Second
	DefaultMaxSubscriptions = 50
	DefaultPrefix           = "rl:"
	DefaultTimeout          = 250 * time.Millisecond
	DefaultLeaseTTL         = 30 * time.Second

	// UnavailableRetryAfter is the RetryAfter of a Decision refused because
	// the backend could not be reached (fail-closed policy).
	UnavailableRetryAfter = time.Second
)

// Decision is the answer of EventLimiter.Allow.
type Decision struct {
	// Allowed reports whether the event may proceed. An allowed event has
	// been counted; a refused one has not.
	Allowed bool
	// RetryAfter is, for a refused event, the time until the oldest event in
	// the window expires and one slot frees up. Zero when Allowed.
	RetryAfter time.Duration
	// Remaining is how many more events of this (user, event) pair the
	// window admits right now, after this one.
	Remaining int
}

// EventLimiter limits how often a user may send one kind of event.
//
// The window slides: an event admitted at time t occupies one of the Max
// slots of its (user, event) pair during [t, t+Window). Only admitted events
// are recorded; a refused event does not add to the log, so a client that
// keeps hammering while refused gets in again as soon as its oldest admitted
// event expires (it is not locked out forever). Admitted events count even
// if the caller later refuses the request for another reason (e.g. the
// subscription cap), as EVENTS.md requires.
type EventLimiter interface {
	Allow(ctx context.Context, userKey, event string) (Decision, error)
}

// SubscriptionLimiter caps a user's concurrent subscriptions, counted as
// (socket, room) pairs over all the user's sockets. The caller (the event
// handler) knows which rooms a socket already holds and passes only the
// number of NEW pairs.
type SubscriptionLimiter interface {
	// Acquire takes n slots for socketID, all or nothing: when the user's
	// count plus n would exceed the cap, nothing is taken and ok is false.
	// current is the user's count after the call (after taking n when ok).
	// n == 0 always succeeds. A negative n is ErrInvalidArgument.
	Acquire(ctx context.Context, userKey, socketID string, n int) (ok bool, current int, err error)
	// Release gives back n slots held by socketID (never more than it holds).
	Release(ctx context.Context, userKey, socketID string, n int) error
	// ReleaseSocket gives back every slot socketID holds (on disconnect).
	ReleaseSocket(ctx context.Context, userKey, socketID string) error
	// Count returns the user's current count.
	Count(ctx context.Context, userKey string) (int, error)
	// Close releases everything this limiter holds and stops it. Later
	// calls return ErrClosed.
	Close() error
}

// EventConfig configures an event rate limit.
type EventConfig struct {
	// Max is how many events of one (user, event) pair a window admits.
	// Zero means DefaultMax (10).
	Max int
	// Window is the length of the sliding window. Zero means
	// DefaultWindow (60 s). Redis keeps it at millisecond resolution or
	// finer; memory at nanosecond resolution.
	Window time.Duration
}

func (c EventConfig) withDefaults() EventConfig {
	if c.Max <= 0 {
		c.Max = DefaultMax
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	return c
}

// SubscriptionConfig configures a subscription cap.
type SubscriptionConfig struct {
	// MaxSubscriptions is the cap on a user's concurrent (socket, room)
	// pairs. Zero means DefaultMaxSubscriptions (50).
	MaxSubscriptions int
}

func (c SubscriptionConfig) withDefaults() SubscriptionConfig {
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	return c
}
