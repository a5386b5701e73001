package engineio

import (
	"log/slog"
	"time"
)

// Defaults, as Node's engine.io 6.6 has them unless noted.
const (
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultMaxPayload     = 1_000_000
	DefaultUpgradeTimeout = 10 * time.Second
	// DefaultCompressionThreshold is the size in bytes above which a
	// WebSocket message is compressed when the client negotiated
	// permessage-deflate.
	DefaultCompressionThreshold = 1024
	// DefaultMaxBufferedBytes bounds a session's pending output. A client
	// that does not read is disconnected rather than let the server's
	// memory grow (Node has no such bound).
	DefaultMaxBufferedBytes = 1 << 20
	// DefaultWriteTimeout bounds one WebSocket write burst.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCloseTimeout is how long a closing polling session waits for
	// the client's next GET to deliver its last packets (Node: 30 s).
	DefaultCloseTimeout = 30 * time.Second
)

// Config configures a Server. The zero value is a working server with Node's
// defaults.
type Config struct {
	// PingInterval is the time between two server pings. Zero means 25 s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong before it closes
	// the session. Zero means 20 s.
	PingTimeout time.Duration
	// MaxPayload is the largest polling body or WebSocket message accepted,
	// in bytes (Node's maxHttpBufferSize). Zero means 1,000,000.
	MaxPayload int
	// UpgradeTimeout bounds the polling to WebSocket upgrade. Zero means 10 s.
	UpgradeTimeout time.Duration
	// CompressionThreshold is the message size in bytes above which
	// WebSocket messages are deflated. Zero means 1024; negative turns
	// permessage-deflate off.
	CompressionThreshold int
	// MaxBufferedBytes bounds the output waiting for a slow client. Zero
	// means 1 MiB; the session is closed when it is passed.
	MaxBufferedBytes int
	// WriteTimeout bounds one WebSocket write. Zero means 10 s.
	WriteTimeout time.Duration
	// CloseTimeout is how long a closing polling session waits for its last
	// GET. Zero means 30 s.
	CloseTimeout time.Duration
	// DisablePolling and DisableWebSocket remove a transport. Both false (the
	// zero value) offer both, with the upgrade.
	DisablePolling, DisableWebSocket bool
	// CORS is the cross-origin policy. The zero value sends no CORS headers
	// and accepts every origin.
	CORS CORS
	// OnConnection is called for every new session, before any of its
	// packets is handled; it must call Session.SetHandler. Required.
	OnConnection func(*Session)
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = DefaultCompressionThreshold
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
