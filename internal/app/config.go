// Package app wires the realtime server together from its Config: session
// store, limiters, adapter, Socket.IO server, handlers, HTTP endpoints, and
// runs it until its context ends, then shuts it down gracefully.
package app

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config is the whole configuration of the server. Load fills it from env
// vars, an optional file and flags (cmd/server); every field's comment names
// its key and says what its zero value means.
type Config struct {
	Port int    // PORT; zero means 3000
	Host string // HOST; zero means all interfaces

	CORSOrigin string // CORS_ORIGIN: comma-separated origins or "*"; zero means "*"

	PingInterval               time.Duration // PING_INTERVAL_MS; zero means 25 s
	PingTimeout                time.Duration // PING_TIMEOUT_MS; zero means 60 s
	MaxHTTPBufferSize          int           // MAX_HTTP_BUFFER_SIZE; zero means 1e6 bytes
	PerMessageDeflateThreshold int           // PER_MESSAGE_DEFLATE_THRESHOLD; zero means 1024, negative off
	MaxBufferedBytes           int           // MAX_BUFFERED_BYTES (slow-client bound); zero means 1 MiB
	ConnectTimeout             time.Duration // CONNECT_TIMEOUT_MS; zero means 45 s

	SessionStore        string        // SESSION_STORE: memory|mongo|redis; zero means memory
	MongoURI            string        // MONGODB_URI (mongo store)
	MongoDB             string        // MONGODB_DB; zero means the URI's database
	SessionCollection   string        // SESSION_COLLECTION; zero means "sessions"
	RedisURL            string        // REDIS_URL: turns on the Redis adapter and limiters
	SessionRedisPrefix  string        // SESSION_REDIS_PREFIX; zero means "sess:"
	SessionSecrets      []string      // SESSION_SECRET, comma-separated; the first signs
	SessionCookieName   string        // SESSION_COOKIE_NAME; zero means "connect.sid"
	SessionCryptoSecret string        // SESSION_CRYPTO_SECRET: connect-mongo crypto secret
	SessionRecheck      time.Duration // SESSION_RECHECK_MS; zero means 60 s
	AuthTimeout         time.Duration // AUTH_TIMEOUT_MS; zero means 2 s

	EmitToken string // EMIT_TOKEN; zero turns POST /internal/emit off

	RateLimitMax      int           // RATE_LIMIT_MAX; zero means 10
	RateLimitWindow   time.Duration // RATE_LIMIT_WINDOW_MS; zero means 60 s
	RateLimitFailOpen bool          // RATE_LIMIT_FAIL_OPEN; Load's default is true
	MaxSubscriptions  int           // MAX_SUBSCRIPTIONS; zero means 50
	SubscriptionLease time.Duration // SUBSCRIPTION_LEASE_MS; zero means 30 s

	RedisAdapterKey     string // REDIS_ADAPTER_KEY; zero means "socket.io"
	RedisAdapterSharded bool   // REDIS_ADAPTER_SHARDED: Redis 7 sharded pub/sub

	ShutdownGrace time.Duration // SHUTDOWN_GRACE_MS; zero means 1 s
	LogLevel      slog.Level    // LOG_LEVEL: debug|info|warn|error

	PprofAddr string // PPROF_ADDR: loopback host:port serving net/http/pprof; zero means off

	Demo              bool          // DEMO: dev login and demo feed
	DemoTradeInterval time.Duration // DEMO_TRADE_INTERVAL_MS; zero means 10 s
}

// Validate checks the configuration and names the key at fault.
func (c *Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("PORT: %d is not a TCP port", c.Port)
	}
	switch c.SessionStore {
	case "", "memory":
	case "mongo":
		if c.MongoURI == "" {
			return fmt.Errorf("MONGODB_URI: required when SESSION_STORE=mongo")
		}
		if !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
			return fmt.Errorf("MONGODB_URI: must start with mongodb:// or mongodb+srv://")
		}
	case "redis":
		if c.RedisURL == "" {
			return fmt.Errorf("REDIS_URL: required when SESSION_STORE=redis")
		}
	default:
		return fmt.Errorf("SESSION_STORE: %q is not one of memory, mongo, redis", c.SessionStore)
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			return fmt.Errorf("REDIS_URL: must be a redis://, rediss:// or unix:// URL")
		}
	}
	if c.PingTimeout > 0 && c.PingInterval > 0 && c.PingTimeout+c.PingInterval < 10*time.Millisecond {
		return fmt.Errorf("PING_TIMEOUT_MS: too small")
	}
	if c.SessionRecheck > 0 && c.SessionRecheck < 100*time.Millisecond {
		return fmt.Errorf("SESSION_RECHECK_MS: must be at least 100")
	}
	if c.SubscriptionLease > 0 && c.SubscriptionLease < 300*time.Millisecond {
		return fmt.Errorf("SUBSCRIPTION_LEASE_MS: must be at least 300")
	}
	if c.PprofAddr != "" && !loopbackAddr(c.PprofAddr) {
		return fmt.Errorf("PPROF_ADDR: %q must be a loopback host:port (profiles expose internals)", c.PprofAddr)
	}
	for i, s := range c.SessionSecrets {
		if s == "" {
			return fmt.Errorf("SESSION_SECRET: secret %d is empty", i+1)
		}
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
