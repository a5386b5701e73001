package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/workq"
)

// readBufferSize is the WebSocket read buffer of one connection.
const readBufferSize = 512

// ErrServerClosed is returned for requests after Close.
var ErrServerClosed = errors.New("engineio: server closed")

// Server is an Engine.IO 4 server. It is an http.Handler for the Engine.IO
// path (for example /socket.io/).
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu       sync.RWMutex
	sessions map[string]*Session
	closed   bool

	flushes     *workq.Queue[*Session] // sessions with broadcast frames to write (flush.go)
	holds       holdWatch              // sessions holding a burst's frames (hold.go)
	dispatchers *dispatchers           // goroutines handling sessions' input (dispatchers.go)

	pollOnce sync.Once
	pollers  []*netpoll.Poller // WebSocket input (see wsread.go)

	open atomic.Int64 // sessions in the open state
	live atomic.Int64 // sessions whose transport is not finished yet
}

// NewServer returns a server; cfg.OnConnection is required.
func NewServer(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, sessions: make(map[string]*Session)}
	s.flushes = newFlushQueue()
	s.dispatchers = newDispatchers()
	s.pollers = make([]*netpoll.Poller, 0, runtime.GOMAXPROCS(0))
	s.upgrader = websocket.Upgrader{
		// Buffers come from the hijacked HTTP connection (4 KiB reads) and,
		// for writes, from a pool shared by every connection: an idle
		// connection holds no write buffer.
		WriteBufferPool: &sync.Pool{},
		// A small read buffer of its own per connection (clients send
		// small packets; larger messages are read in several calls), so
		// the hijacked 4 KiB HTTP read buffer is released.
		ReadBufferSize:    readBufferSize,
		EnableCompression: cfg.CompressionThreshold > 0,
		// The origin is checked by ServeHTTP against the CORS policy before
		// the upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeUpgradeError(w, ErrBadRequest)
		},
	}
	return s
}

// Count returns the number of open sessions.
func (s *Server) Count() int { return int(s.open.Load()) }

// Session returns the session with this id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[id]
}

// Drain waits until every closed session's transport is finished: the last
// frames of each WebSocket written and the connection closed, each polling
// session's last poll answered (or its CloseTimeout passed). It returns
// ctx's error if ctx ends first.
func (s *Server) Drain(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.live.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close closes every session with the reason "forced server close" and
// refuses new ones.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.close("forced server close", nil, true)
	}
	// The Pollers stop too (a WebSocket still being written needs none).
	s.pollOnce.Do(func() {})
	for _, p := range s.pollers {
		_ = p.Close()
	}
}

func (s *Server) remove(ss *Session) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
	s.mu.Unlock()
}

// ServeHTTP handles one Engine.IO request: a handshake, a poll, a POST of
// packets or a WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	isUpgrade := websocket.IsWebSocketUpgrade(r)
	if !s.cfg.CORS.allowed(origin) {
		s.fail(w, isUpgrade, ErrForbidden)
		return
	}
	if !isUpgrade {
		s.cfg.CORS.setHeaders(w.Header(), origin)
		if r.Method == http.MethodOptions {
			s.cfg.CORS.preflight(w, r)
			return
		}
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if !s.transportEnabled(transport) {
		s.fail(w, isUpgrade, ErrUnknownTransport)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		s.handshake(w, r, q, transport, isUpgrade)
		return
	}
	ss := s.Session(sid)
	if ss == nil {
		s.fail(w, isUpgrade, ErrUnknownSID)
		return
	}
	if isUpgrade {
		if transport != "websocket" {
			s.fail(w, true, ErrBadRequest)
			return
		}
		ss.upgradeWebSocket(w, r)
		return
	}
	if transport != "polling" || !ss.isPolling() {
		writeError(w, ErrBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		ss.handlePoll(w, r)
	case http.MethodPost:
		ss.handlePost(w, r)
	default:
		writeError(w, ErrBadRequest)
	}
}

func (s *Server) transportEnabled(t string) bool {
	switch t {
	case "polling":
		return !s.cfg.DisablePolling
	case "websocket":
		return !s.cfg.DisableWebSocket
	}
	return false
}

func (s *Server) fail(w http.ResponseWriter, isUpgrade bool, code ErrorCode) {
	if isUpgrade {
		writeUpgradeError(w, code)
		return
	}
	writeError(w, code)
}

// writeUpgradeError answers a refused WebSocket upgrade as Node's
// abortUpgrade does: a text body with the message, the connection closed.
// A refused origin gets 403, the rest 400.
func writeUpgradeError(w http.ResponseWriter, code ErrorCode) {
	status := http.StatusBadRequest
	if code == ErrForbidden {
		status = http.StatusForbidden
	}
	msg := code.String()
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, q url.Values, transport string, isUpgrade bool) {
	if r.Method != http.MethodGet {
		s.fail(w, isUpgrade, ErrBadHandshakeMethod)
		return
	}
	if transport == "websocket" && !isUpgrade {
		writeError(w, ErrBadRequest)
		return
	}
	if q.Get("EIO") != "4" {
		if isUpgrade {
			// Node lets the WebSocket handshake through, then destroys the
			// connection without a frame.
			if conn, err := s.upgrader.Upgrade(w, r, nil); err == nil {
				_ = conn.NetConn().Close()
			}
			return
		}
		writeError(w, ErrUnsupportedProtocol)
		return
	}
	ss := newSession(s, generateID(), r)
	if transport == "websocket" {
		hw := &holdingWriter{ResponseWriter: w}
		conn, err := s.upgrader.Upgrade(hw, r, nil)
		if err != nil {
			return // the upgrader answered
		}
		answer := hw.conn.take()
		if !s.register(ss) {
			_, _ = conn.NetConn().Write(answer)
			_ = conn.Close()
			return
		}
		w := ss.newWSConn(conn, r)
		ss.answerPings(conn)
		ss.openWebSocket(w, answer)
		return
	}
	if !s.register(ss) {
		writeError(w, ErrBadRequest)
		return
	}
	ss.openPolling(w)
}

func (s *Server) register(ss *Session) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	s.open.Add(1)
	s.live.Add(1)
	s.cfg.OnConnection(ss)
	return true
}

// generateID returns 15 random bytes in URL-safe base64 (20 characters), as
// Node's base64id does.
func generateID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// GenerateID returns a new random id in the format of Engine.IO session ids;
// Socket.IO uses the same format for socket ids.
func GenerateID() string { return generateID() }
