// Package server is the typed Socket.IO server: Server, Namespace, Socket,
// broadcasting, the Adapter interface with its in-memory implementation, the
// health endpoint and the graceful shutdown. The protocols live in the
// engineio and socketio subpackages.
package server

import (
	"log/slog"
	"time"

	"github.com/tradedash/realtime/server/engineio"
)

// Defaults of the Socket.IO layer, as Node's socket.io 4.8 has them.
const (
	DefaultPath           = "/socket.io/"
	DefaultConnectTimeout = 45 * time.Second
	DefaultShutdownGrace  = time.Second
)

// Config configures a Server. The zero value works: Node's defaults, the
// in-memory adapter, no CORS headers.
type Config struct {
	// Path is where Engine.IO is served. Zero means "/socket.io/".
	Path string
	// Engine configures the Engine.IO layer (heartbeat, sizes, CORS,
	// compression). Its OnConnection is set by the server.
	Engine engineio.Config
	// ConnectTimeout closes a connection that joins no namespace in time.
	// Zero means 45 s.
	ConnectTimeout time.Duration
	// Adapter builds each namespace's adapter. Nil means the in-memory one.
	Adapter AdapterFactory
	// ShutdownGrace is the time between server:shutdown and the disconnect
	// in Shutdown. Zero means 1 s.
	ShutdownGrace time.Duration
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Adapter == nil {
		c.Adapter = NewMemoryAdapter
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}
