package adapter

import (
	"context"
	"crypto/rand"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/tradedash/realtime/server"
)

// Redis is the Redis adapter of one server: one subscriber connection, one
// publisher queue, and an adapter per namespace (see Factory).
type Redis struct {
	cfg Config
	log *slog.Logger
	uid string

	ps     *redis.PubSub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan outgoing

	mu        sync.RWMutex
	byChannel map[string]*nsAdapter // request, response and specific response channels
	byPattern map[string]*nsAdapter // broadcast pattern
	byShard   map[string]*shardedNS // sharded mode: every channel
	closed    bool

	dropped atomic.Int64
}

type outgoing struct {
	channel string
	payload []byte
}

// New starts the adapter: its subscriber connection (opened from
// cfg.Client's options, re-established by go-redis after a Redis restart,
// with every subscription) and its publisher. Redis need not be up yet.
func New(ctx context.Context, cfg Config) (*Redis, error) {
	if cfg.Client == nil {
		return nil, ErrNoClient
	}
	cfg = cfg.withDefaults()
	switch cfg.SubscriptionMode {
	case SubscriptionDynamic, SubscriptionStatic, SubscriptionDynamicPrivate:
	default:
		return nil, ErrSubscriptionMode
	}
	r := &Redis{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "redis-adapter"),
		uid:       newUID(6),
		queue:     make(chan outgoing, cfg.PublishQueue),
		byChannel: make(map[string]*nsAdapter),
		byPattern: make(map[string]*nsAdapter),
		byShard:   make(map[string]*shardedNS),
	}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if cfg.Sharded {
		r.ps = cfg.Client.SSubscribe(r.ctx)
	} else {
		r.ps = cfg.Client.Subscribe(r.ctx)
	}
	msgs := r.ps.Channel(redis.WithChannelSize(1024))
	r.wg.Add(2)
	go r.receive(msgs)
	go r.publisher()
	return r, nil
}

// UID returns the adapter's id on the classic wire (in sharded mode each
// namespace has its own, as Node's ClusterAdapter).
func (r *Redis) UID() string { return r.uid }

// Dropped returns how many messages were dropped (malformed or unknown
// incoming ones, outgoing ones Redis did not take).
func (r *Redis) Dropped() int64 { return r.dropped.Load() }

// Factory returns the AdapterFactory for server.Config.Adapter.
func (r *Redis) Factory() server.AdapterFactory {
	return func(nsp *server.Namespace) server.Adapter {
		if r.cfg.Sharded {
			return r.newSharded(nsp)
		}
		return r.newNamespace(nsp)
	}
}

// Close stops the subscriber and the publisher; pending requests fail.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var tables []*requestTable
	for _, a := range r.byPattern {
		tables = append(tables, &a.requestTable)
	}
	for _, a := range r.byShard {
		tables = append(tables, &a.requestTable)
	}
	r.mu.Unlock()
	for _, t := range tables {
		t.failPending()
	}
	err := r.ps.Close()
	r.cancel()
	r.wg.Wait()
	return err
}

func (r *Redis) isClosed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.closed
}

func (r *Redis) drop(reason DropReason, err error) {
	r.dropped.Add(1)
	if r.cfg.OnDrop != nil {
		r.cfg.OnDrop(reason, err)
	}
}

// publish queues a message; it never waits for Redis.
func (r *Redis) publish(channel string, payload []byte) {
	if payload == nil || r.isClosed() {
		return
	}
	select {
	case r.queue <- outgoing{channel, payload}:
	default:
		r.drop(DropQueueFull, nil)
		r.log.Warn("publish queue full, message dropped", "channel", channel)
	}
}

func (r *Redis) publisher() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case m := <-r.queue:
			ctx, cancel := context.WithTimeout(r.ctx, r.cfg.PublishTimeout)
			var err error
			if r.cfg.Sharded {
				err = r.cfg.Client.SPublish(ctx, m.channel, m.payload).Err()
			} else {
				err = r.cfg.Client.Publish(ctx, m.channel, m.payload).Err()
			}
			cancel()
			if err != nil && r.ctx.Err() == nil {
				r.drop(DropPublishError, err)
				r.log.Warn("publish failed", "channel", m.channel, "err", err)
			}
		}
	}
}

func (r *Redis) receive(msgs <-chan *redis.Message) {
	defer r.wg.Done()
	for m := range msgs {
		r.dispatch(m)
	}
}

func (r *Redis) dispatch(m *redis.Message) {
	defer func() {
		if p := recover(); p != nil {
			r.drop(DropMalformed, nil)
			r.log.Error("panic handling a Redis message", "channel", m.Channel, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if r.cfg.Sharded {
		r.mu.RLock()
		s := r.byShard[m.Channel]
		r.mu.RUnlock()
		if s != nil {
			r.report(m.Channel, s.onRaw(m.Channel, []byte(m.Payload)))
		}
		return
	}
	r.mu.RLock()
	var a *nsAdapter
	if m.Pattern != "" {
		a = r.byPattern[m.Pattern]
	} else {
		a = r.byChannel[m.Channel]
	}
	r.mu.RUnlock()
	if a == nil {
		return
	}
	var err error
	switch {
	case m.Pattern != "":
		err = a.onBroadcast(m.Channel, []byte(m.Payload))
	case strings.HasPrefix(m.Channel, a.responseChannel):
		err = a.onResponse([]byte(m.Payload))
	default:
		err = a.onRequest([]byte(m.Payload))
	}
	r.report(m.Channel, err)
}

// report counts and logs a message that could not be handled.
func (r *Redis) report(channel string, err error) {
	if err != nil {
		reason := DropMalformed
		if err == errUnknownType {
			reason = DropUnknown
		}
		r.drop(reason, err)
		r.log.Warn("Redis message dropped", "channel", channel, "err", err)
	}
}

const uidChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newUID is like Node's uid2(n).
func newUID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = uidChars[int(b[i])%len(uidChars)]
	}
	return string(b)
}
