package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradedash/realtime/server/engineio"
)

// Server is a Socket.IO server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	eio   *engineio.Server
	hooks Hooks
	mux   *http.ServeMux

	ctx    context.Context // handlers' context, cancelled by Shutdown
	cancel context.CancelFunc
	start  time.Time

	mu   sync.RWMutex
	nsps map[string]*Namespace

	usersMu sync.Mutex
	users   map[string]int // user key -> connected sockets on "/"

	shuttingDown atomic.Bool
}

// New returns a server with the default namespace "/".
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		nsps:  make(map[string]*Namespace),
		users: make(map[string]int),
		start: time.Now(),
		mux:   http.NewServeMux(),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ecfg := cfg.Engine
	ecfg.OnConnection = func(conn *engineio.Session) { conn.SetHandler(newClient(s, conn)) }
	s.eio = engineio.NewServer(ecfg)
	s.Of("/")
	s.mux.Handle(cfg.Path, s.eio)
	s.mux.HandleFunc("GET /health/websocket", s.serveHealth)
	return s
}

// SetHooks installs observation callbacks (metrics, logs). Call it before
// serving.
func (s *Server) SetHooks(h Hooks) { s.hooks = h }

// Handler returns the HTTP handler: Engine.IO at Config.Path, the health
// endpoint, and whatever was added with Handle.
func (s *Server) Handler() http.Handler { return s.mux }

// Listener wraps a plain TCP listener for the http.Server that serves
// Handler: a connection whose first request is a new WebSocket session at
// Config.Path is handshaken without net/http's per-connection machinery;
// every other one reaches the http.Server unchanged. headerTimeout bounds
// the wait for that first request (use the http.Server's
// ReadHeaderTimeout).
func (s *Server) Listener(ln net.Listener, headerTimeout time.Duration) net.Listener {
	return s.eio.Listener(ln, s.cfg.Path, headerTimeout)
}

// Handle adds an HTTP route beside the server's own.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Of returns the namespace with this name, creating it.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nsps[name]
	if n == nil {
		n = newNamespace(s, name)
		s.nsps[name] = n
	}
	return n
}

func (s *Server) namespace(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps[name]
}

// Sockets returns the default namespace.
func (s *Server) Sockets() *Namespace { return s.Of("/") }

// Use adds a middleware to the default namespace.
func (s *Server) Use(mw Middleware) { s.Sockets().Use(mw) }

// To starts a broadcast to rooms of the default namespace.
func (s *Server) To(rooms ...Room) *BroadcastOperator { return s.Sockets().To(rooms...) }

// EmitToUser sends an event to every socket of a user, on every instance.
func (s *Server) EmitToUser(userKey, event string, data any) error {
	return s.To("user:"+userKey).Emit(event, data)
}

// EmitToRoom sends an event to a room, on every instance.
func (s *Server) EmitToRoom(room, event string, data any) error {
	return s.To(room).Emit(event, data)
}

// EmitToAll sends an event to every socket, on every instance.
func (s *Server) EmitToAll(event string, data any) error {
	return s.Sockets().Emit(event, data)
}

// LocalRooms lists the default namespace's rooms on this instance whose
// name starts with prefix.
func (s *Server) LocalRooms(prefix string) []string {
	return s.Sockets().adapter.RoomNames(prefix)
}

// Stats are the figures of the health endpoint.
type Stats struct {
	TotalConnections int   `json:"totalConnections"`
	UniqueUsers      int   `json:"uniqueUsers"`
	RedisAdapter     bool  `json:"redisAdapter"`
	Uptime           int64 `json:"uptime"` // seconds
}

// Distributed is implemented by adapters that span several instances.
type Distributed interface{ Distributed() bool }

// Stats returns the server's figures.
func (s *Server) Stats() Stats {
	s.usersMu.Lock()
	users := len(s.users)
	s.usersMu.Unlock()
	d, ok := s.Sockets().adapter.(Distributed)
	return Stats{
		TotalConnections: s.Sockets().Len(),
		UniqueUsers:      users,
		RedisAdapter:     ok && d.Distributed(),
		Uptime:           int64(time.Since(s.start) / time.Second),
	}
}

// UserConnections returns how many sockets a user has on this instance.
func (s *Server) UserConnections(userKey string) int {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	return s.users[userKey]
}

// Healthy reports false once Shutdown has begun.
func (s *Server) Healthy() bool { return !s.shuttingDown.Load() }

func (s *Server) onSocketConnected(sock *Socket) {
	if sock.nsp.name == "/" && sock.identity.UserKey != "" {
		s.usersMu.Lock()
		n := s.users[sock.identity.UserKey]
		s.users[sock.identity.UserKey] = n + 1
		s.usersMu.Unlock()
		s.hooks.connect(sock, n > 0)
	} else {
		s.hooks.connect(sock, false)
	}
}

func (s *Server) onSocketClosed(sock *Socket, reason string) {
	if sock.nsp.name == "/" && sock.identity.UserKey != "" {
		s.usersMu.Lock()
		if n := s.users[sock.identity.UserKey]; n <= 1 {
			delete(s.users, sock.identity.UserKey)
		} else {
			s.users[sock.identity.UserKey] = n - 1
		}
		s.usersMu.Unlock()
	}
	s.hooks.disconnect(sock, reason)
}

// Shutdown stops the server gracefully, as the seed describes: emit
// server:shutdown to this instance's sockets, wait Config.ShutdownGrace (or
// until ctx ends), disconnect every socket with a DISCONNECT packet, close
// the Engine.IO server and the adapters. Other instances' clients are not
// touched. The HTTP listener is the caller's to close.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.shuttingDown.CompareAndSwap(false, true) {
		return nil
	}
	_ = s.Sockets().To().Local().Emit("server:shutdown", shutdownNotice{
		Message:   "Server is shutting down for maintenance",
		Timestamp: ISOTime(time.Now()),
	})
	t := time.NewTimer(s.cfg.ShutdownGrace)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.RUnlock()
	for _, n := range nsps {
		for _, sock := range n.LocalSockets() {
			sock.Disconnect(true)
		}
	}
	// Wait until the DISCONNECT packets are on the wire: every WebSocket
	// flushed and closed, every polling session's last poll answered
	// (bounded by ctx, and by 5 s for clients that never poll again).
	// Connections that joined no namespace are closed too, and new ones
	// refused.
	s.eio.Close()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = s.eio.Drain(dctx)
	cancel()
	s.cancel()
	var firstErr error
	for _, n := range nsps {
		if err := n.adapter.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

type shutdownNotice struct {
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// ISOTime formats t as JavaScript's Date.prototype.toISOString does.
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
