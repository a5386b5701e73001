package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/sioclient"
	"github.com/tradedash/realtime/internal/testenv"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

// start builds the app from cfg on a free loopback port and runs it until
// the test ends, waiting for /health/websocket.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	cfg.Host = "127.0.0.1"
	cfg.Port = testenv.FreePort(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	r := &running{url: "http://127.0.0.1:" + strconv.Itoa(cfg.Port), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(r.url + "/health/websocket")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no healthy answer: %v\n%s", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "msg=listening addr=127.0.0.1:"+strconv.Itoa(cfg.Port)) {
		t.Fatalf("no listening line:\n%s", logs)
	}
	return r
}

// waitMetric polls /metrics until it contains line, failing after 5 s.
func waitMetric(t *testing.T, base, line string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, body := get(t, base+"/metrics"); strings.Contains(body, line) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %q", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := []struct {
		cfg Config
		key string
	}{
		{Config{Port: 70000}, "PORT"},
		{Config{SessionStore: "foo"}, "SESSION_STORE"},
		{Config{SessionStore: "mongo"}, "MONGODB_URI"},
		{Config{SessionStore: "redis"}, "REDIS_URL"},
		{Config{RedisURL: "http://x"}, "REDIS_URL"},
		{Config{SessionRecheck: time.Millisecond}, "SESSION_RECHECK_MS"},
		{Config{SessionSecrets: []string{"a", ""}}, "SESSION_SECRET"},
		{Config{Demo: true, SessionStore: "mongo", MongoURI: "mongodb://127.0.0.1:1/"}, "DEMO"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("New: %v, want an error naming %s", err, tc.key)
			}
		})
	}
}

func TestRunMemory(t *testing.T) {
	r := start(t, Config{Demo: true, SessionSecrets: []string{"s"}, EmitToken: "tok", RateLimitMax: 2, MaxSubscriptions: 1, SessionRecheck: 200 * time.Millisecond})

	status, body := get(t, r.url+"/health/websocket")
	var health struct {
		Status string `json:"status"`
		Stats  struct {
			TotalConnections *int     `json:"totalConnections"`
			UniqueUsers      *int     `json:"uniqueUsers"`
			RedisAdapter     *bool    `json:"redisAdapter"`
			Uptime           *float64 `json:"uptime"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(body), &health); status != 200 || err != nil || health.Status != "healthy" ||
		health.Stats.TotalConnections == nil || health.Stats.UniqueUsers == nil || health.Stats.RedisAdapter == nil || *health.Stats.RedisAdapter || health.Stats.Uptime == nil {
		t.Fatalf("/health/websocket %d %s", status, body)
	}
	if status, body := get(t, r.url+"/health/ready"); status != 200 || body != `{"status":"ready"}` {
		t.Fatalf("/health/ready %d %s", status, body)
	}

	// A session from the dev login, a client, and events that make every
	// labelled metric appear.
	res, err := http.Post(r.url+"/dev/login", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		SessionID string `json:"sessionID"`
		UserID    string `json:"userId"`
	}
	_ = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if login.SessionID == "" || login.UserID == "" {
		t.Fatalf("dev login: %d %+v", res.StatusCode, login)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	auth := map[string]any{"sessionID": login.SessionID, "userId": login.UserID}
	if _, err := sioclient.Dial(ctx, sioclient.Config{URL: r.url, Auth: map[string]any{"sessionID": "nope", "userId": "x"}}); !errors.Is(err, sioclient.ErrRefused) {
		t.Fatalf("bad session: %v", err)
	}
	c1, err := sioclient.Dial(ctx, sioclient.Config{URL: r.url, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	_ = c1.Close()
	// The server records the disconnect when it reads c1's DISCONNECT
	// packet, which may be after the next handshake is served; the
	// reconnection counter needs it recorded first.
	waitMetric(t, r.url, `realtime_disconnects_total{reason="client namespace disconnect"} 1`)
	shutdownSeen := make(chan struct{}, 1)
	c, err := sioclient.Dial(ctx, sioclient.Config{URL: r.url, Auth: auth, OnEvent: func(e sioclient.Event) {
		if e.Name == "server:shutdown" {
			shutdownSeen <- struct{}{}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ackOf := func(event string) string {
		raw, err := c.EmitWithAck(ctx, event)
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		return string(raw)
	}
	ackOf("subscribe:portfolio")
	if a := ackOf("subscribe:trades"); !strings.Contains(a, `"SUBSCRIPTION_LIMIT"`) {
		t.Fatalf("cap: %s", a)
	}
	ackOf("subscribe:portfolio")
	if a := ackOf("subscribe:portfolio"); !strings.Contains(a, `"RATE_LIMIT"`) {
		t.Fatalf("rate: %s", a)
	}
	req, _ := http.NewRequest("POST", r.url+"/internal/emit", strings.NewReader(`{"userId":"`+login.UserID+`","event":"portfolio:update","data":{}}`))
	req.Header.Set("Authorization", "Bearer tok")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("emit: %v %v", res, err)
	}

	status, metrics := get(t, r.url+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics %d", status)
	}
	for _, name := range []string{
		"realtime_connections 1", "realtime_unique_users 1",
		`realtime_connects_total{transport="websocket"} 2`, `realtime_disconnects_total{reason="client namespace disconnect"} 1`,
		"realtime_reconnections_total 1", `realtime_connect_refused_total{code="UNAUTHORIZED"} 1`,
		`realtime_event_duration_seconds_bucket{event="subscribe:portfolio"`, `realtime_emits_total{event="portfolio:update"} 1`,
		`realtime_error_events_total{code="RATE_LIMIT"} 1`, `realtime_error_events_total{code="SUBSCRIPTION_LIMIT"} 1`,
		`realtime_rate_limit_rejections_total{event="subscribe:portfolio"} 1`, `realtime_subscription_limit_rejections_total{event="subscribe:trades"} 1`,
		"realtime_session_store_errors_total 0", "realtime_session_store_duration_seconds_count",
		"process_resident_memory_bytes", "go_goroutines",
		// Registered but only shown once something happened (need Redis):
		// realtime_limiter_unavailable_total, realtime_adapter_errors_total.
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	if !strings.Contains(metrics, "# HELP realtime_connections ") {
		t.Errorf("/metrics has no HELP lines")
	}

	// Shutdown through the context: server:shutdown, a Socket.IO
	// DISCONNECT, Run returns nil.
	start := time.Now()
	r.cancel()
	select {
	case <-shutdownSeen:
	case <-time.After(5 * time.Second):
		t.Fatal("no server:shutdown")
	}
	select {
	case <-c.Done():
		var e *sioclient.Error
		if err := c.Err(); !errors.As(err, &e) || e.Message != "io server disconnect" {
			t.Fatalf("client ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client not disconnected")
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("shut down after %v, before the 1 s grace", d)
	}
	if _, err := http.Get(r.url + "/health/websocket"); err == nil {
		t.Fatal("still listening after Run returned")
	}
}

func TestRunPortInUse(t *testing.T) {
	r := start(t, Config{})
	port, _ := strconv.Atoi(r.url[strings.LastIndex(r.url, ":")+1:])
	a, err := New(context.Background(), Config{Host: "127.0.0.1", Port: port}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("Run on a busy port: %v", err)
	}
}
