// Package adapter is the Redis adapter of the Socket.IO server: it spans a
// namespace over every instance of a cluster sharing one Redis, speaking the
// wire format of Node's @socket.io/redis-adapter 8.3 — createAdapter by
// default, createShardedAdapter with Config.Sharded — so Go and Node
// instances can serve the same cluster and @socket.io/redis-emitter reaches
// Go clients. Server-side events reach the namespace's OnServerSideEmit
// handlers (server.Namespace.DeliverServerSideEmit).
package adapter

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Config.
const (
	DefaultKey             = "socket.io"
	DefaultRequestsTimeout = 5 * time.Second
	DefaultPublishTimeout  = 2 * time.Second
	DefaultPublishQueue    = 4096
)

// Config configures New.
type Config struct {
	// Client publishes and makes requests (PUBSUB NUMSUB); the subscriber
	// connection is opened from its options. Required.
	Client redis.UniversalClient
	// Key is the channel prefix. Zero means "socket.io", Node's default.
	Key string
	// RequestsTimeout bounds the cluster requests (fetchSockets,
	// serverSideEmit with ack, serverCount). Zero means 5 s.
	RequestsTimeout time.Duration
	// Sharded selects Redis 7 sharded Pub/Sub (SPUBLISH/SSUBSCRIBE), the
	// wire format of Node's createShardedAdapter (socket.io-adapter's
	// ClusterAdapter messages). False means the classic format of
	// createAdapter (PUBLISH/PSUBSCRIBE).
	Sharded bool
	// SubscriptionMode is createShardedAdapter's subscriptionMode; only
	// read when Sharded. Zero means SubscriptionDynamic, Node's default.
	// Every instance of a cluster must use the same mode.
	SubscriptionMode SubscriptionMode
	// PublishTimeout bounds one PUBLISH. Zero means 2 s.
	PublishTimeout time.Duration
	// PublishQueue is how many outgoing messages may wait for Redis; when
	// it is full (Redis down or slow) new ones are dropped and counted.
	// Zero means 4096.
	PublishQueue int
	// OnDrop, when set, is called for every incoming message that could
	// not be decoded or handled and for every outgoing message dropped, with
	// the reason. It must not block.
	OnDrop func(reason DropReason, err error)
	// Logger receives the adapter's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// SubscriptionMode says which broadcasts of the sharded adapter go to a
// channel of their own room ("socket.io#/#room#") rather than the
// namespace's ("socket.io#/#"), and so which room channels an instance
// subscribes to.
type SubscriptionMode string

// Subscription modes, as Node's.
const (
	// SubscriptionDynamic: broadcasts to one public room (not a socket id)
	// use the room's channel; an instance subscribes to the channels of
	// its public rooms while they exist.
	SubscriptionDynamic SubscriptionMode = "dynamic"
	// SubscriptionStatic: everything goes through the namespace channel.
	SubscriptionStatic SubscriptionMode = "static"
	// SubscriptionDynamicPrivate: as dynamic, private rooms (socket ids)
	// included.
	SubscriptionDynamicPrivate SubscriptionMode = "dynamic-private"
)

// DropReason says why a message was dropped.
type DropReason string

// Drop reasons.
const (
	DropMalformed    DropReason = "malformed"     // an incoming message we could not decode
	DropUnknown      DropReason = "unknown"       // an incoming message of an unknown type
	DropQueueFull    DropReason = "queue_full"    // an outgoing message with no room in the queue
	DropPublishError DropReason = "publish_error" // an outgoing message Redis refused or timed out on
)

func (c Config) withDefaults() Config {
	if c.Key == "" {
		c.Key = DefaultKey
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = DefaultRequestsTimeout
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.PublishQueue <= 0 {
		c.PublishQueue = DefaultPublishQueue
	}
	if c.SubscriptionMode == "" {
		c.SubscriptionMode = SubscriptionDynamic
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Errors of the adapter.
var (
	ErrNoClient         = errors.New("adapter: Config.Client is required")
	ErrSubscriptionMode = errors.New("adapter: unknown Config.SubscriptionMode")
	ErrClosed           = errors.New("adapter: closed")
	ErrRequestTimeout   = errors.New("adapter: cluster request timed out")
	ErrBinaryNotAllowed = errors.New("adapter: binary arguments are not allowed here (Node's classic adapter sends this message as JSON)")
)

// TimeoutError is a cluster request that did not get every answer in time.
// errors.Is(err, ErrRequestTimeout) holds.
type TimeoutError struct {
	Op       string // "fetchSockets", "serverSideEmit"
	Got      int
	Expected int
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("adapter: %s: timeout reached: only %d responses received out of %d", e.Op, e.Got, e.Expected)
}

// Is makes errors.Is(err, ErrRequestTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrRequestTimeout }
