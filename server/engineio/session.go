package engineio

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tradedash/realtime/internal/netpoll"
)

// Errors a session reports to its handler with the close reason.
var (
	ErrClosed     = errors.New("engineio: session closed")
	ErrSlowClient = errors.New("engineio: client does not read its output")
	ErrOverlap    = errors.New("engineio: overlapping requests from the client")
	ErrTooLarge   = errors.New("engineio: payload over the size limit")
)

// Handler receives a session's incoming messages and its end. The calls are
// never concurrent: messages arrive one at a time in the order the client
// sent them, and OnClose comes once, after the last OnMessage.
type Handler interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason string, err error)
}

type state uint8

const (
	stateOpen state = iota
	stateClosing
	stateClosed
)

type transportKind uint8

const (
	transportPolling transportKind = iota
	transportWebSocket
)

// poll is a pending GET of a polling session.
type poll struct {
	wake  chan struct{} // buffered(1): something to send, or the end
	final PacketType    // Close or Noop to append, 0 for none
}

// signal wakes the GET, without blocking; a non-zero final is the packet
// to end its answer with. Called with the session's mu held.
func (p *poll) signal(final PacketType) {
	if final != 0 {
		p.final = final
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Session is one Engine.IO connection, whatever its transport.
//
// Lock order: inMu before mu. mu guards the output queue and the transport
// state and is never held while calling the handler or doing I/O.
type Session struct {
	// What a send and a flush read come first, in two cache lines: a
	// broadcast reads them for thousands of sessions, each a cache miss of
	// its own. (Session's size class, 384 bytes, keeps them aligned.)
	mu        sync.Mutex
	state     state
	transport transportKind
	writing   bool // the output is being written (a writer goroutine, or a flusher)
	holding   bool // the dispatcher handles a burst: Send holds frames (hold.go)
	queue     []*Packet
	queued    int
	ws        *wsConn
	srv       *Server
	partial   []byte    // the rest of a frame written only in part, first out
	spare     []*Packet // the writer's last batch, reused

	id string

	// What the handshake request said, kept for the upper layers.
	header     string // packHeader
	rawQuery   string
	remoteAddr string
	secure     bool

	poll      *poll // pending GET (polling)
	posting   bool  // a POST is being handled (polling)
	upgrading bool  // a probe WebSocket is in progress or done
	timer     *time.Timer
	pongWait  bool          // a ping is out, its pong not yet in
	refreshed bool          // the pong wait was extended once by other traffic
	watched   bool          // on the server's hold watch
	heldAt    time.Duration // holdClock when the first frame was held; 0: none

	// WebSocket input waits here for the dispatcher goroutine, so that the
	// reader's stack stays shallow (handlers run on the dispatcher's).
	qmu         sync.Mutex
	qcond       *sync.Cond
	inbound     []inPacket
	dispatching bool
	rd          *wsReader // the Poller-driven reader, if any
	inPaused    bool      // rd's input is paused: inbound is full

	inMu     sync.Mutex // serializes the handler's calls
	handler  Handler
	closed   atomic.Bool
	notified atomic.Bool
	closeWhy string
	closeErr error
	doneOnce sync.Once
}

// newSession keeps what the handshake request said in a compact form: the
// header in one string, the query unparsed (a map per connection, read
// once at connect time, would cost more than the rest of an idle session).
func newSession(srv *Server, id string, r *http.Request) *Session {
	return newSessionFrom(srv, id, packHeader(r.Header), r.URL.RawQuery, r.RemoteAddr, r.TLS != nil)
}

// newSessionFrom is newSession for a request read without net/http, its
// header already packed.
func newSessionFrom(srv *Server, id, header, rawQuery, remoteAddr string, secure bool) *Session {
	return &Session{id: id, srv: srv, header: header, rawQuery: rawQuery, remoteAddr: remoteAddr, secure: secure}
}

// packHeader writes h as "Key\x00value\x00" pairs (neither may contain a
// NUL byte in HTTP).
func packHeader(h http.Header) string {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// ID returns the session id (sid).
func (s *Session) ID() string { return s.id }

// Header returns the headers of the handshake request, in a new map on
// each call.
func (s *Session) Header() http.Header {
	h := make(http.Header)
	rest := s.header
	for rest != "" {
		k, after, _ := strings.Cut(rest, "\x00")
		v, after2, _ := strings.Cut(after, "\x00")
		h[k] = append(h[k], v)
		rest = after2
	}
	return h
}

// Query returns the query of the handshake request, parsed anew on each
// call.
func (s *Session) Query() url.Values {
	q, _ := url.ParseQuery(s.rawQuery)
	return q
}

// RemoteAddr returns the client's address as the handshake request saw it.
func (s *Session) RemoteAddr() string { return s.remoteAddr }

// Secure reports whether the handshake came over TLS.
func (s *Session) Secure() bool { return s.secure }

// SetHandler sets the handler; call it from Config.OnConnection.
func (s *Session) SetHandler(h Handler) { s.handler = h }

// Transport returns "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

func (s *Session) isPolling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport == transportPolling
}

// handshakeBody is the open packet's JSON, keys in Node's order.
func (s *Session) handshakeBody(upgrades bool) []byte {
	cfg := &s.srv.cfg
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":"`...)
	b = append(b, s.id...)
	if upgrades && !cfg.DisableWebSocket {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(cfg.MaxPayload), 10)
	return append(b, '}')
}

// startHeartbeat arms the ping timer: a ping every PingInterval, and the
// session closes when its pong is not back within PingTimeout.
func (s *Session) startHeartbeat() {
	s.mu.Lock()
	s.timer = time.AfterFunc(s.srv.cfg.PingInterval, s.onTimer)
	s.mu.Unlock()
}

func (s *Session) onTimer() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.pongWait {
		s.mu.Unlock()
		s.close("ping timeout", nil, false)
		return
	}
	s.pongWait = true
	s.refreshed = false
	s.timer.Reset(s.srv.cfg.PingTimeout)
	s.enqueueLocked(&Packet{Type: Ping})
	s.mu.Unlock()
}

// onTraffic extends the pong wait once when another packet arrives while
// the server waits for a pong, as engine.io 6.6 does.
func (s *Session) onTraffic() {
	s.mu.Lock()
	if s.pongWait && !s.refreshed && s.state == stateOpen {
		s.refreshed = true
		s.timer.Reset(s.srv.cfg.PingTimeout)
	}
	s.mu.Unlock()
}

func (s *Session) onPong() {
	s.mu.Lock()
	if s.pongWait && s.state == stateOpen {
		s.pongWait = false
		s.timer.Reset(s.srv.cfg.PingInterval)
	}
	s.mu.Unlock()
}

// Send queues packets for the client. It never blocks on the network. A
// packet may be shared with other sessions and must not be modified after.
// When the pending output passes Config.MaxBufferedBytes, the session is
// closed (a slow client) and ErrSlowClient returned.
func (s *Session) Send(packets ...*Packet) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.holding && packets[0].wsOp == 0 && !packets[0].shared {
		over := s.holdLocked(packets)
		s.mu.Unlock()
		if over {
			s.close("transport error", ErrSlowClient, false)
			return ErrSlowClient
		}
		return nil
	}
	if s.canWriteInlineLocked() {
		s.writing = true
		if packets[0].shared {
			// A broadcast: to the flushers (see flush.go).
			for _, p := range packets {
				s.enqueueLocked(p)
			}
			s.mu.Unlock()
			s.srv.flushes.Push(s)
			return nil
		}
		// Nothing queued and no writer: write on the caller's goroutine,
		// as Node writes on its own thread, without waiting on the socket.
		s.mu.Unlock()
		s.writeInline(packets, false)
		return nil
	}
	for _, p := range packets {
		s.enqueueLocked(p)
	}
	over := s.queued > s.srv.cfg.MaxBufferedBytes
	s.mu.Unlock()
	if over {
		s.close("transport error", ErrSlowClient, false)
		return ErrSlowClient
	}
	return nil
}

// Writable reports whether a packet sent now would leave at once: a poll is
// pending, or the WebSocket has nothing queued. Volatile messages are dropped
// when it is false, as Node does.
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return false
	}
	if s.transport == transportWebSocket {
		return len(s.queue) == 0
	}
	return s.poll != nil && len(s.queue) == 0
}

// enqueueLocked appends p and wakes the transport.
func (s *Session) enqueueLocked(p *Packet) {
	s.queueLocked(p)
	s.wakeLocked()
}

// queueLocked appends p to the pending output.
func (s *Session) queueLocked(p *Packet) {
	s.queue = append(s.queue, p)
	s.queued += p.size()
}

func (s *Session) wakeLocked() {
	if s.transport == transportWebSocket && s.ws != nil {
		s.startWriterLocked()
		return
	}
	if s.poll != nil {
		s.poll.signal(0)
	}
}

// takeQueueLocked hands the pending output to a transport.
func (s *Session) takeQueueLocked() []*Packet {
	q := s.queue
	s.queue = nil
	s.queued = 0
	return q
}

// Close closes the session from the server side, after the packets already
// queued are delivered (reason "forced close").
func (s *Session) Close() { s.close("forced close", nil, true) }

// close ends the session. With flush, the queued packets still go out: over
// WebSocket before the connection is closed, over polling with the close
// packet in the next GET. The handler's OnClose runs once, after any
// OnMessage in progress.
func (s *Session) close(reason string, err error, flush bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.closeWhy, s.closeErr = reason, err
	if s.timer != nil {
		s.timer.Stop()
	}
	var final PacketType = Close
	if reason == "transport close" {
		// The client closed: its pending poll gets what was already queued
		// for it, or a NOOP (Node does so).
		final = Noop
		flush = s.poll != nil
	}
	if !flush {
		s.takeQueueLocked()
	}
	switch {
	case s.transport == transportWebSocket && s.ws != nil:
		s.state = stateClosed
		s.ws.closing, s.ws.flush = true, flush
		s.startWriterLocked()
		if !flush && s.ws.final == nil {
			// Nothing more is to be written: close the connection now, so
			// that a writer blocked on a client that does not read is
			// released at once instead of at its write deadline. (A close
			// frame for a protocol error is written first, by the writer,
			// within a second.)
			defer s.ws.closeConn()
		}
	case !flush || (s.poll != nil && (len(s.queue) == 0 || final == Noop)):
		s.state = stateClosed
		defer s.markDone()
		if s.poll != nil {
			s.poll.signal(final)
		}
	default:
		// Node's orderly close of a polling transport: the packets queued
		// go out in an answer of their own (a pending poll gets them now),
		// and the close packet in the next poll, as "6\x1e1". (In one
		// payload, socket.io-client would see the close before the packets
		// before it: it hands decoded packets on in a later tick.) The
		// session stays reachable until then, or CloseTimeout.
		s.state = stateClosing
		if s.poll != nil {
			s.poll.signal(0)
		}
		time.AfterFunc(s.srv.cfg.CloseTimeout, s.finishClosing)
	}
	if s.state == stateClosed {
		s.srv.remove(s)
	}
	s.mu.Unlock()
	s.srv.open.Add(-1)
	s.closed.Store(true)
	if s.inMu.TryLock() {
		s.unlockIn()
	}
}

func (s *Session) finishClosing() {
	s.mu.Lock()
	if s.state == stateClosing {
		s.state = stateClosed
		s.takeQueueLocked()
	}
	s.mu.Unlock()
	s.srv.remove(s)
	s.markDone()
}

// markDone records, once, that the session's transport is finished: its
// WebSocket closed after its last frame, or its polling session ended
// (the last poll's answer is then in the HTTP server's hands).
func (s *Session) markDone() {
	s.doneOnce.Do(func() { s.srv.live.Add(-1) })
}

// lockIn starts a delivery to the handler; it reports false when the session
// is closed and nothing may be delivered any more.
func (s *Session) lockIn() bool {
	s.inMu.Lock()
	if s.closed.Load() {
		s.unlockIn()
		return false
	}
	return true
}

// unlockIn ends a delivery. If the session closed meanwhile, the handler's
// OnClose runs here, after the last OnMessage, exactly once.
func (s *Session) unlockIn() {
	for {
		if s.closed.Load() && s.notified.CompareAndSwap(false, true) && s.handler != nil {
			s.handler.OnClose(s.closeWhy, s.closeErr)
		}
		s.inMu.Unlock()
		if !s.closed.Load() || s.notified.Load() {
			return
		}
		if !s.inMu.TryLock() {
			return
		}
	}
}

// deliver hands incoming packets to the handler in order. It stops at the
// first packet that closes the session.
func (s *Session) deliver(packets []inPacket) {
	if !s.lockIn() {
		return
	}
	defer s.unlockIn()
	s.hold()
	defer s.unhold()
	for _, p := range packets {
		if s.closed.Load() {
			return
		}
		if p.end {
			s.close(p.reason, p.err, false)
			return
		}
		if p.Type != Pong {
			s.onTraffic()
		}
		switch p.Type {
		case Message:
			if s.handler != nil {
				s.handler.OnMessage(p.Data, p.Binary)
			}
		case Pong:
			s.onPong()
		case Close:
			s.close("transport close", nil, false)
		case Ping:
			// Engine.IO 4 pings go from server to client only.
			s.close("transport error", errors.New("engineio: invalid heartbeat direction"), false)
		}
		// Open, Upgrade and Noop from the client are ignored, as in Node.
	}
}

// maxInbound is how many WebSocket messages may wait for the dispatcher
// before the reader stops reading (back-pressure on the client).
const maxInbound = 64

// enqueue hands a packet read from the WebSocket to the dispatcher, which
// is started when none is running. The reader waits while the queue is
// full.
func (s *Session) enqueue(p inPacket) {
	s.qmu.Lock()
	s.pushLocked(p)
	for len(s.inbound) >= maxInbound && s.dispatching {
		if s.qcond == nil {
			s.qcond = sync.NewCond(&s.qmu)
		}
		s.qcond.Wait()
	}
	s.qmu.Unlock()
}

// pushLocked queues p for the dispatcher and starts one when none is
// running; s.qmu is held.
func (s *Session) pushLocked(p inPacket) {
	s.inbound = append(s.inbound, p)
	if !s.dispatching {
		s.dispatching = true
		s.srv.dispatchers.run(s)
	}
}

// dispatch delivers queued input in order until the queue is empty, then
// ends: an idle connection parks no dispatcher goroutine.
func (s *Session) dispatch() {
	for {
		s.qmu.Lock()
		batch := s.inbound
		s.inbound = nil
		if s.qcond != nil {
			s.qcond.Broadcast()
		}
		s.resumeLocked()
		if len(batch) == 0 {
			s.dispatching = false
			s.qmu.Unlock()
			return
		}
		s.qmu.Unlock()
		s.deliver(batch)
	}
}

// wsConn is the WebSocket transport of a session. nc, fd, sock and deflate
// are set once; conn is guarded by gmu; the other fields by the session's
// mu.
//
// What an inline write reads comes first, the descriptor with it, in the
// first 64 bytes: a broadcast reads them for thousands of connections,
// each a cache miss of its own. (Its size, 120 bytes, falls in the
// 128-byte size class, whose objects are 64-byte aligned.)
type wsConn struct {
	fd       *netpoll.FD // &sock, for inline writes and the Poller; nil when there is no descriptor
	deflate  bool        // permessage-deflate negotiated
	closing  bool        // the session ended: flush (or not) and close conn
	flush    bool        // write the queue before closing
	finished bool        // conn closed
	sock     netpoll.FD

	gmu   sync.Mutex               // guards conn's making (see gorilla)
	conn  *websocket.Conn          // gorilla's; nil until needed for a fast-path session
	nc    net.Conn                 // the connection
	rd    atomic.Pointer[wsReader] // set when a Poller reads the input
	final []byte                   // a close frame to write last when not flushing
}

// closeConn closes the connection, after taking it off its Poller (a
// descriptor closed by Go leaves the epoll set, but not the Poller's map).
func (w *wsConn) closeConn() {
	if r := w.rd.Load(); r != nil {
		r.detach()
	}
	if w.fd != nil {
		w.fd.Shut() // before Go closes the descriptor (see netpoll.FD)
	}
	_ = w.nc.Close()
}
