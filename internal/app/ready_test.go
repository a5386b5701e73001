package app

import (
	"strings"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/testenv"
)

// waitReady polls /health/ready until it answers want (status and a body
// fragment) or the deadline passes.
func waitReady(t *testing.T, r *running, want int, fragment string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get(t, r.url+"/health/ready")
		if status == want && strings.Contains(body, fragment) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready: %d %s, want %d with %q", status, body, want, fragment)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadyFollowsDependencies: /health/ready answers 503 naming the
// dependency while the configured Redis or MongoDB (FerretDB) is down, and
// 200 again once it is back; /health/websocket keeps its shape meanwhile.
func TestReadyFollowsDependencies(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		rd := testenv.StartRedis(t)
		r := start(t, Config{SessionStore: "redis", RedisURL: rd.URL(), RateLimitFailOpen: true})
		waitReady(t, r, 200, `"ready"`)
		rd.Kill()
		waitReady(t, r, 503, `"dependency":"redis"`)
		if status, body := get(t, r.url+"/health/websocket"); status != 200 || !strings.Contains(body, `"redisAdapter":true`) {
			t.Fatalf("/health/websocket during the outage: %d %s", status, body)
		}
		rd.Restart()
		waitReady(t, r, 200, `"ready"`)
	})
	t.Run("mongo", func(t *testing.T) {
		db := testenv.StartFerretDB(t)
		r := start(t, Config{SessionStore: "mongo", MongoURI: db.URI(), MongoDB: "ready_test"})
		waitReady(t, r, 200, `"ready"`)
		db.Kill()
		waitReady(t, r, 503, `"dependency":"session store"`)
		db.Restart()
		waitReady(t, r, 200, `"ready"`)
	})
}
