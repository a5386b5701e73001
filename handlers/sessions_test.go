package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/internal/sioclient"
	"github.com/tradedash/realtime/internal/testenv"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// wantServerDisconnect waits for c to be disconnected by the server after
// an `error` {code: UNAUTHORIZED}.
func wantServerDisconnect(t *testing.T, c *client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitTime):
		t.Fatalf("socket %s still connected", c.SID())
	}
	var e *sioclient.Error
	if err := c.Err(); !errors.As(err, &e) || e.Message != "io server disconnect" {
		t.Fatalf("socket %s ended with %v, want a Socket.IO DISCONNECT", c.SID(), err)
	}
	names := c.names()
	if len(names) == 0 || names[len(names)-1] != "error" {
		t.Fatalf("events before the disconnect %v, want error last", names)
	}
	m := object(t, c.next("error")[0])
	wantKeys(t, "error", m, "code", "message")
	if m["code"] != "UNAUTHORIZED" {
		t.Fatalf("error %v", m)
	}
}

func wantConnected(t *testing.T, c *client) {
	t.Helper()
	c.barrier()
	if c.Err() != nil || c.has("error") {
		t.Fatalf("socket %s: err %v, events %v", c.SID(), c.Err(), c.names())
	}
}

func TestCheckSessionsMemory(t *testing.T) {
	h := startHarness(t, harnessConfig{})
	ctx := context.Background()
	aliceAuth := h.user("alice")
	a1, a2 := h.dial(t, aliceAuth), h.dial(t, aliceAuth)
	bob := h.dial(t, h.user("bob"))
	anon := h.dial(t, h.user(7.0))

	CheckSessions(ctx, h.srv, h.authn, discard) // all alive: nothing happens
	for _, c := range []*client{a1, a2, bob, anon} {
		wantConnected(t, c)
	}

	h.store.Destroy(aliceAuth["sessionID"].(string)) // logout
	CheckSessions(ctx, h.srv, h.authn, discard)
	wantServerDisconnect(t, a1)
	wantServerDisconnect(t, a2)
	for _, c := range []*client{bob, anon} {
		wantConnected(t, c)
	}
	if n := h.srv.UserConnections("alice"); n != 0 {
		t.Fatalf("alice still has %d connections", n)
	}

	// An expired session ends the same way.
	sid := h.store.Create("carol", "", "", 300*time.Millisecond)
	carol := h.dial(t, map[string]any{"sessionID": sid, "userId": "carol"})
	CheckSessions(ctx, h.srv, h.authn, discard)
	wantConnected(t, carol)
	deadline := time.Now().Add(waitTime)
	for carol.Err() == nil && time.Now().Before(deadline) {
		CheckSessions(ctx, h.srv, h.authn, discard)
		select {
		case <-carol.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	wantServerDisconnect(t, carol)
	wantConnected(t, bob)

	// A cancelled round does nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h.store.Destroy(bob.sessionID(t, h))
	CheckSessions(cctx, h.srv, h.authn, discard)
	wantConnected(t, bob)
}

// sessionID returns the server-side session id of c.
func (c *client) sessionID(t *testing.T, h *harness) string {
	t.Helper()
	return h.serverSocket(t, c).Identity().SessionID
}

// TestWatchSessions: the ticker loop disconnects within the interval and
// stops with its context.
func TestWatchSessions(t *testing.T) {
	h := startHarness(t, harnessConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { WatchSessions(ctx, h.srv, h.authn, 100*time.Millisecond, discard); close(done) }()
	auth := h.user("dave")
	c := h.dial(t, auth)
	start := time.Now()
	h.store.Destroy(auth["sessionID"].(string))
	wantServerDisconnect(t, c)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("disconnected after %v with a 100 ms interval", d)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitTime):
		t.Fatal("WatchSessions did not return after cancel")
	}
}

// TestCheckSessionsStoreFailure: with the store down the sockets stay; once
// the store answers again (empty, as a Redis without persistence comes
// back) they are disconnected.
func TestCheckSessionsStoreFailure(t *testing.T) {
	r := testenv.StartRedis(t)
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := auth.NewRedisStore(auth.RedisConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	authn := auth.New(auth.Config{Store: store, Timeout: 300 * time.Millisecond})
	h := startHarness(t, harnessConfig{})
	h.authn = authn // the harness middleware authenticates against Redis now
	srv := h.srv

	// A connect-redis session, as express-session writes it.
	sess, _ := json.Marshal(map[string]any{
		"cookie":   map[string]any{"originalMaxAge": 3600000, "expires": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano), "httpOnly": true, "path": "/"},
		"passport": map[string]any{"user": "erin"},
	})
	if err := rdb.Set(context.Background(), "sess:erin-sid", sess, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	c := h.dial(t, map[string]any{"sessionID": "erin-sid", "userId": "erin"})

	r.Kill()
	for i := 0; i < 3; i++ {
		CheckSessions(context.Background(), srv, authn, discard)
	}
	wantConnected(t, c)

	r.Restart() // no persistence: the session is gone
	deadline := time.Now().Add(waitTime)
	for c.Err() == nil && time.Now().Before(deadline) {
		CheckSessions(context.Background(), srv, authn, discard)
		select {
		case <-c.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	wantServerDisconnect(t, c)
}
