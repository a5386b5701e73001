package app

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/sioclient"
	"github.com/tradedash/realtime/internal/testenv"
)

// TestShutdownWithRedisDead: Redis dies while users are connected and
// subscribed, then the server is told to stop. Run must still return,
// within its grace and the closers' own bounds, not retry every user's
// Redis writes one after another (it once hung for minutes like this).
func TestShutdownWithRedisDead(t *testing.T) {
	const clients = 200
	rd := testenv.StartRedis(t)
	r := start(t, Config{
		SessionStore: "redis", RedisURL: rd.URL(), Demo: true, RateLimitFailOpen: true,
		ShutdownGrace: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	conns := make(chan *sioclient.Client, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(r.url+"/dev/login", "application/json", strings.NewReader(`{}`))
			if err != nil {
				errs <- err
				return
			}
			var login struct {
				SessionID string `json:"sessionID"`
				UserID    string `json:"userId"`
			}
			err = json.NewDecoder(res.Body).Decode(&login)
			res.Body.Close()
			if err != nil {
				errs <- err
				return
			}
			c, err := sioclient.Dial(ctx, sioclient.Config{URL: r.url, Auth: map[string]any{"sessionID": login.SessionID, "userId": login.UserID}})
			if err != nil {
				errs <- err
				return
			}
			conns <- c
			if _, err := c.EmitWithAck(ctx, "subscribe:watchlist", []string{"AAPL", "MSFT"}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(conns)
	for err := range errs {
		t.Fatal(err)
	}
	for c := range conns {
		defer c.Close()
	}
	waitMetric(t, r.url, "realtime_connections 200")

	rd.Kill()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Fatalf("Run did not return 15 s after the stop with Redis dead; goroutines:\n%s", b.String())
	}
	// The grace (0.2 s), the disconnect releases (the limiter fails fast
	// once it found Redis dead), the HTTP server's close (at most 2 s, for
	// connections the client opened and never used) and the closers (one
	// limiter Timeout with Redis dead): a few seconds on a loaded machine.
	d := time.Since(start)
	if d > 8*time.Second {
		t.Errorf("Run returned %v after the stop", d)
	}
	t.Logf("Run returned %v after the stop (%d clients, Redis dead)", d, clients)
	r.done <- nil // for start's cleanup
}
