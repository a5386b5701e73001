package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/internal/sioclient"
	"github.com/tradedash/realtime/internal/testenv"
	"github.com/tradedash/realtime/ratelimit"
	"github.com/tradedash/realtime/server"
)

// waitTime bounds every wait of these tests.
const waitTime = 5 * time.Second

// isoTime is the shape of JavaScript's Date.prototype.toISOString.
var isoTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// limiterKind names a limiter implementation under test.
type limiterKind string

const (
	memoryLimiters limiterKind = "memory"
	redisLimiters  limiterKind = "redis"
)

var limiterKinds = []limiterKind{memoryLimiters, redisLimiters}

// harnessConfig configures startHarness. Zero values mean the defaults of
// EVENTS.md (10 events per 60 s, 50 subscriptions).
type harnessConfig struct {
	Limiters   limiterKind
	RateMax    int
	RateWindow time.Duration
	MaxSubs    int
}

// harness is the real server package with the real handlers, the real
// authenticator over a memory session store, and real limiters (memory or
// Redis), served by httptest.
type harness struct {
	*httptest.Server
	srv    *server.Server
	store  *auth.MemoryStore
	authn  *auth.Authenticator
	handle *Handlers
}

func startHarness(t *testing.T, cfg harnessConfig) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &harness{store: auth.NewMemoryStore(auth.MemoryConfig{})}
	h.authn = auth.New(auth.Config{Store: h.store, Secrets: []string{"test-secret"}})
	h.srv = server.New(server.Config{Logger: log})
	h.srv.Use(func(ctx context.Context, s *server.Socket) error {
		hs := s.Handshake()
		id, err := h.authn.Authenticate(ctx, hs.Auth, hs.Headers)
		if err != nil {
			return err
		}
		s.SetIdentity(server.Identity{UserID: id.UserID, UserKey: id.UserKey, UserName: id.UserName, UserRole: id.UserRole, SessionID: id.SessionID})
		return nil
	})
	ev := ratelimit.EventConfig{Max: cfg.RateMax, Window: cfg.RateWindow}
	sc := ratelimit.SubscriptionConfig{MaxSubscriptions: cfg.MaxSubs}
	var events ratelimit.EventLimiter
	var subs ratelimit.SubscriptionLimiter
	switch cfg.Limiters {
	case "", memoryLimiters:
		m := ratelimit.NewMemorySubscriptionLimiter(sc)
		t.Cleanup(func() { _ = m.Close() })
		events, subs = ratelimit.NewMemoryEventLimiter(ev), m
	case redisLimiters:
		r := testenv.StartRedis(t)
		opts, err := redis.ParseURL(r.URL())
		if err != nil {
			t.Fatal(err)
		}
		opts.ContextTimeoutEnabled = true
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		re, err := ratelimit.NewRedisEventLimiter(ratelimit.RedisEventConfig{EventConfig: ev, Client: rdb})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := ratelimit.NewRedisSubscriptionLimiter(ratelimit.RedisSubscriptionConfig{SubscriptionConfig: sc, Client: rdb, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rs.Close() })
		events, subs = re, rs
	default:
		t.Fatalf("unknown limiters %q", cfg.Limiters)
	}
	h.handle = Register(h.srv, Config{Events: events, Subscriptions: subs, MaxSubscriptions: cfg.MaxSubs, Logger: log})
	h.Server = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.Server.Close)
	return h
}

// user creates a session for userID and returns the handshake auth.
func (h *harness) user(userID any) map[string]any {
	sid := h.store.Create(userID, "", "", 0)
	return map[string]any{"sessionID": sid, "userId": userID}
}

// client is a sioclient connection that records every event.
type client struct {
	*sioclient.Client
	t  *testing.T
	mu sync.Mutex
	ev []sioclient.Event
	ch chan struct{}
}

func (h *harness) dial(t *testing.T, authPayload map[string]any) *client {
	t.Helper()
	c := &client{t: t, ch: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	sc, err := sioclient.Dial(ctx, sioclient.Config{URL: h.URL, Auth: authPayload, OnEvent: c.record})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Client = sc
	t.Cleanup(func() { _ = sc.Close() })
	c.next("connected")
	return c
}

func (c *client) record(e sioclient.Event) {
	c.mu.Lock()
	c.ev = append(c.ev, sioclient.Event{Name: e.Name, Data: bytes.Clone(e.Data), At: e.At})
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// next removes and returns the payload (args after the name) of the first
// recorded event named name, waiting for it.
func (c *client) next(name string) []json.RawMessage {
	c.t.Helper()
	deadline := time.After(waitTime)
	for {
		c.mu.Lock()
		for i, e := range c.ev {
			if e.Name == name {
				c.ev = slices.Delete(c.ev, i, i+1)
				c.mu.Unlock()
				var arr []json.RawMessage
				if err := json.Unmarshal(e.Data, &arr); err != nil {
					c.t.Fatalf("event %s: %v", name, err)
				}
				return arr[1:]
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-c.Done():
			c.t.Fatalf("connection ended waiting for %q: %v", name, c.Err())
		case <-deadline:
			c.t.Fatalf("no %q within %v", name, waitTime)
		}
	}
}

// names returns the names of the events recorded and not yet taken.
func (c *client) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.ev))
	for i, e := range c.ev {
		out[i] = e.Name
	}
	return out
}

// has reports whether an event named name is recorded and not yet taken.
func (c *client) has(name string) bool { return slices.Contains(c.names(), name) }

// ack emits event with args and returns the ack's first argument.
func (c *client) ack(event string, args ...any) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	raw, err := c.EmitWithAck(ctx, event, args...)
	if err != nil {
		c.t.Fatalf("%s ack: %v", event, err)
	}
	var arr []map[string]any
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 1 {
		c.t.Fatalf("%s ack %s: want one object (%v)", event, raw, err)
	}
	return arr[0]
}

// barrier proves everything the server sent this socket before now has
// arrived: a ping with ack is answered after the earlier packets.
func (c *client) barrier() {
	c.t.Helper()
	c.ack("ping")
	c.next("pong")
}

// object decodes one JSON object.
func object(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m
}

// keys returns the sorted keys of m.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keys(m); !slices.Equal(got, want) {
		t.Fatalf("%s keys = %v, want %v (%v)", what, got, want, m)
	}
}

// serverSocket returns the server side of client c.
func (h *harness) serverSocket(t *testing.T, c *client) *server.Socket {
	t.Helper()
	for _, s := range h.srv.Sockets().LocalSockets() {
		if s.ID() == c.SID() {
			return s
		}
	}
	t.Fatalf("no server socket %s", c.SID())
	return nil
}
