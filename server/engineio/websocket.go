package engineio

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// heldConn holds what gorilla's upgrader writes into a connection (its
// 101 answer): for a handshake through net/http, to send it with the open
// packet in one write (one system call and one wake-up of the client
// instead of two); for a gorilla Conn made after the fact, to drop it.
type heldConn struct {
	net.Conn
	held    []byte
	holding bool
}

func (c *heldConn) Write(b []byte) (int, error) {
	if c.holding {
		c.held = append(c.held, b...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// SyscallConn gives the socket itself, for inline writes and the Poller.
func (c *heldConn) SyscallConn() (syscall.RawConn, error) { return syscallConnOf(c.Conn) }

// take stops holding and returns what was held.
func (c *heldConn) take() []byte {
	b := c.held
	c.held, c.holding = nil, false
	return b
}

// holdingWriter hands gorilla's upgrader the hijacked connection wrapped
// in a heldConn that holds its writes.
type holdingWriter struct {
	http.ResponseWriter
	conn *heldConn
}

func (w *holdingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("engineio: the connection cannot be hijacked")
	}
	c, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &heldConn{Conn: c, holding: true}
	return w.conn, brw, nil
}

// newWSConn is the transport of a WebSocket gorilla's upgrader answered
// for r.
func (s *Session) newWSConn(conn *websocket.Conn, r *http.Request) *wsConn {
	// As gorilla's upgrader negotiated: permessage-deflate when it is on
	// and the client offered it.
	deflate := false
	if s.srv.upgrader.EnableCompression {
		for _, v := range r.Header.Values("Sec-WebSocket-Extensions") {
			deflate = deflate || deflateOffered(v)
		}
	}
	w := newLazyWSConn(conn.NetConn(), deflate)
	w.conn = conn
	s.tune(conn)
	return w
}

// newLazyWSConn is the transport of a session handshaken without gorilla
// (fastws.go): its gorilla Conn is made when first needed. compress: the
// 101 answer accepted permessage-deflate.
func newLazyWSConn(c net.Conn, compress bool) *wsConn {
	w := &wsConn{nc: c, deflate: compress}
	if rc, err := syscallConnOf(c); err == nil && w.sock.Init(rc) == nil {
		w.fd = &w.sock
	}
	return w
}

// tune sets up a session's gorilla Conn: its read limit (for gorilla's
// reader, where it reads), and no answer of its own to close frames:
// control frames from the client are answered through the session's own
// write path, never concurrently with it (frames are also written inline,
// outside gorilla's writer).
func (s *Session) tune(conn *websocket.Conn) {
	conn.SetReadLimit(int64(s.srv.cfg.MaxPayload))
	conn.SetCloseHandler(func(int, string) error { return nil })
}

// lazyKey is the Sec-WebSocket-Key of the handshake replayed to gorilla
// when a session's Conn is made after the fact; the answer is dropped.
const lazyKey = "dGhlIHNhbXBsZSBub25jZQ=="

// gorilla returns the session's gorilla Conn, making it on first use for a
// session handshaken without it: gorilla's upgrader runs on a replay of
// the handshake (with permessage-deflate if it was accepted) and its 101
// is dropped. Only the session's writer (or the opener, before any reader
// or writer runs) calls it.
func (w *wsConn) gorilla(s *Session) (*websocket.Conn, error) {
	w.gmu.Lock()
	defer w.gmu.Unlock()
	if w.conn != nil {
		return w.conn, nil
	}
	req := &http.Request{Method: http.MethodGet, Header: http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {lazyKey},
	}}
	if w.deflate {
		req.Header["Sec-Websocket-Extensions"] = []string{"permessage-deflate"}
	}
	hc := &heldConn{Conn: w.nc, holding: true}
	conn, err := s.srv.upgrader.Upgrade(&gorillaWriter{hc: hc}, req, nil)
	hc.take() // gorilla's 101: the client has had ours
	if err != nil {
		return nil, err
	}
	s.tune(conn)
	s.answerPings(conn)
	w.conn = conn
	return conn, nil
}

// answerPings makes the connection answer WebSocket pings with pongs sent
// through the session, in order with its other frames.
func (s *Session) answerPings(conn *websocket.Conn) {
	conn.SetPingHandler(func(data string) error {
		_ = s.Send(&Packet{wsOp: websocket.PongMessage, Data: []byte(data)})
		return nil
	})
}

// openWebSocket runs a session that started on WebSocket: the 101 answer
// (answer) and the open packet go out in one write, then the input is read
// (by a Poller, or a reader goroutine) and anything OnConnection queued is
// written.
func (s *Session) openWebSocket(w *wsConn, answer []byte) {
	open := &Packet{Type: Open, Data: s.handshakeBody(false)}
	s.mu.Lock()
	s.transport = transportWebSocket
	s.ws = w
	s.writing = true // this goroutine writes first: the 101 and the open packet
	s.mu.Unlock()
	_, err := w.nc.Write(append(answer, open.wireFrame()...))
	s.mu.Lock()
	s.writing = false
	if w.closing || len(s.queue) > 0 {
		// Closed meanwhile, or sent to by OnConnection: the writer ends
		// the connection or writes the queue.
		s.startWriterLocked()
	}
	s.mu.Unlock()
	if err != nil {
		s.close("transport error", err, false)
		return
	}
	s.startHeartbeat()
	if s.startPolled(w, s.newReader(w)) {
		return
	}
	// No Poller: gorilla's reader, on a fresh goroutine with a small stack
	// (the HTTP handler's goroutine, whose stack grew while serving the
	// handshake, ends here).
	conn, err := w.gorilla(s)
	if err != nil {
		s.close("transport error", err, false)
		return
	}
	go s.readLoop(w, conn)
}

func (s *Session) newReader(w *wsConn) *wsReader {
	return &wsReader{s: s, limit: s.srv.cfg.MaxPayload, deflate: w.deflate, fd: -1}
}

// upgradeWebSocket takes a WebSocket opened for an existing polling session:
// the probe (2probe -> 3probe), then the upgrade packet, after which the
// session's output moves to the WebSocket.
func (s *Session) upgradeWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := s.srv.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	busy := s.upgrading || s.transport == transportWebSocket || s.state != stateOpen
	if !busy {
		s.upgrading = true
	}
	s.mu.Unlock()
	if busy {
		// Node accepts a second WebSocket for the same session and closes
		// it at once, with a close frame without a status code.
		closeWithoutStatus(conn)
		return
	}
	ws := s.newWSConn(conn, r)
	var rd *wsReader
	if len(s.srv.pollersFor(ws)) > 0 {
		// Our own parser reads the probe, so that what the client sends
		// right after the upgrade packet stays with the reader.
		rd = s.newReader(ws)
	}
	if !s.probe(conn, rd) {
		_ = conn.Close()
		s.mu.Lock()
		if s.transport == transportPolling {
			s.upgrading = false
		}
		s.mu.Unlock()
		return
	}
	s.answerPings(conn)
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.transport = transportWebSocket
	s.ws = ws
	if s.poll != nil {
		// The pending poll is released with a NOOP; the queued output now
		// goes over the WebSocket.
		s.poll.signal(Noop)
		s.poll = nil
	}
	s.wakeLocked()
	s.mu.Unlock()
	if rd != nil && s.startPolled(ws, rd) {
		return
	}
	go s.readLoop(ws, ws.conn)
}

// probe runs the upgrade handshake on conn and reports whether the client
// completed it with the upgrade packet within Config.UpgradeTimeout. With
// rd, our frame parser reads it (see wsread.go), and the bytes the client
// sent after the upgrade packet stay pending in rd; without, gorilla's
// reader does.
func (s *Session) probe(conn *websocket.Conn, rd *wsReader) bool {
	_ = conn.SetReadDeadline(time.Now().Add(s.srv.cfg.UpgradeTimeout))
	defer func() {
		// No deadline may outlive the probe: inline writes follow.
		_ = conn.SetReadDeadline(time.Time{})
		_ = conn.NetConn().SetWriteDeadline(time.Time{})
	}()
	if rd == nil {
		for {
			mt, data, err := conn.ReadMessage()
			if err != nil {
				return false
			}
			if step := s.probeMessage(conn, mt == websocket.TextMessage, data); step != probeMore {
				return step == probeUpgraded
			}
		}
	}
	rd.pong = func(data []byte) {
		_ = conn.WriteControl(websocket.PongMessage, data, time.Now().Add(s.srv.cfg.WriteTimeout))
	}
	step := probeFailed
	err := rd.readUntil(conn.NetConn(), func(op byte, data []byte) bool {
		step = s.probeMessage(conn, op == opText, data)
		return step == probeMore
	})
	return err == nil && step == probeUpgraded
}

type probeStep uint8

const (
	probeFailed   probeStep = iota
	probeMore               // the probe ping was answered: read on
	probeUpgraded           // the upgrade packet came
)

// probeMessage handles one message of the upgrade probe.
func (s *Session) probeMessage(conn *websocket.Conn, text bool, data []byte) probeStep {
	if !text {
		return probeFailed
	}
	p, err := decodeText(data)
	switch {
	case err != nil:
		return probeFailed
	case p.Type == Ping && string(p.Data) == "probe":
		_ = conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
		if conn.WriteMessage(websocket.TextMessage, []byte("3probe")) != nil {
			return probeFailed
		}
		// Release the pending poll so that the client can pause it.
		s.mu.Lock()
		if s.poll != nil && len(s.queue) == 0 {
			s.poll.signal(Noop)
		}
		s.mu.Unlock()
		return probeMore
	case p.Type == Upgrade:
		return probeUpgraded
	}
	return probeFailed
}

// readLoop reads messages until the connection ends and delivers them in
// order.
func (s *Session) readLoop(w *wsConn, conn *websocket.Conn) {
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			reason := "transport error"
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) ||
				errors.Is(err, websocket.ErrCloseSent) {
				reason = "transport close"
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && reason == "transport error" {
				reason = "transport close"
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				err = ErrTooLarge
				reason = "transport error"
			}
			// The end is queued behind the messages read before it, so
			// that they are handled first (a disconnect never overtakes
			// them), and the transport stops at once.
			s.enqueue(inPacket{end: true, reason: reason, err: err})
			s.stopWriting(nil)
			return
		}
		if mt == websocket.BinaryMessage {
			s.enqueue(inPacket{Type: Message, Data: data, Binary: true})
			continue
		}
		p, perr := decodeText(data)
		if perr != nil {
			s.enqueue(inPacket{end: true, reason: "parse error", err: perr})
			s.stopWriting(nil)
			return
		}
		s.enqueue(p)
	}
}

// stopWriting closes a WebSocket whose reader ended: nothing more can be
// exchanged on it. The session itself closes when the dispatcher reaches
// the end of its input.
func (s *Session) stopWriting(final []byte) {
	s.mu.Lock()
	if w := s.ws; w != nil && !w.closing {
		w.closing, w.flush, w.final = true, false, final
		s.startWriterLocked()
	}
	s.mu.Unlock()
}

// startWriterLocked starts a writer goroutine unless one is running. A
// WebSocket has a writer only while it has output: an idle connection
// parks no goroutine for writing.
func (s *Session) startWriterLocked() {
	if s.writing || s.ws == nil {
		return
	}
	s.writing = true
	go s.writeLoop(s.ws)
}

// closeNormalFrame is a close frame with status 1000, as a server writes
// it (unmasked).
var closeNormalFrame = []byte{0x88, 0x02, 0x03, 0xe8}

// writeLoop writes the session's output until the queue is empty, then
// ends; when the session is closing it closes the connection, after the
// queue if the close flushes. Frames are written as the inline writes
// write them (several in one write); only a frame to deflate goes through
// gorilla (a broadcast's prepared once for every connection).
func (s *Session) writeLoop(w *wsConn) {
	for {
		s.mu.Lock()
		if (len(s.queue) == 0 && s.partial == nil) || (w.closing && !w.flush) {
			s.writing = false
			finish := w.closing && !w.finished
			w.finished = w.finished || finish
			flush := w.flush
			s.mu.Unlock()
			if finish {
				final := w.final
				if flush {
					final = closeNormalFrame
				}
				if final != nil {
					_ = w.nc.SetWriteDeadline(time.Now().Add(time.Second))
					_, _ = w.nc.Write(final)
				}
				w.closeConn()
				s.markDone()
			}
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare, nil
		s.queued = 0
		partial := s.partial
		s.partial = nil
		s.mu.Unlock()

		deadline := time.Now().Add(s.srv.cfg.WriteTimeout)
		_ = w.nc.SetWriteDeadline(deadline)
		err := s.writeBatch(w, partial, batch, deadline)
		// The deadline bounds this burst only: frames written inline later
		// go through the same socket, and a deadline left in the past would
		// fail them.
		_ = w.nc.SetWriteDeadline(time.Time{})
		clear(batch)
		s.mu.Lock()
		s.spare = batch[:0]
		s.mu.Unlock()
		if err != nil {
			// close marks the connection closing; the next round ends it.
			s.close("transport error", err, false)
			s.mu.Lock()
			w.closing, w.flush = true, false
			s.mu.Unlock()
		}
	}
}

// maxJoined bounds the frames joined in one write by the writer.
const maxJoined = 64 << 10

// writeBatch writes partial (the rest of a frame) and the packets, joining
// frames in writes of up to maxJoined bytes; a frame to deflate is written
// by gorilla, in order.
func (s *Session) writeBatch(w *wsConn, partial []byte, batch []*Packet, deadline time.Time) error {
	bp := framePool.Get().(*[]byte)
	out := append((*bp)[:0], partial...)
	defer func() {
		if cap(out) <= maxPooledFrames {
			*bp = out[:0]
			framePool.Put(bp)
		}
	}()
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		_, err := w.nc.Write(out)
		out = out[:0]
		return err
	}
	for _, p := range batch {
		if s.deflates(w, p) {
			if err := flush(); err != nil {
				return err
			}
			conn, err := w.gorilla(s)
			if err != nil {
				return err
			}
			_ = conn.SetWriteDeadline(deadline)
			if err := writeDeflated(conn, p); err != nil {
				return err
			}
			continue
		}
		f := p.wireFrame()
		if len(out) > 0 && len(out)+len(f) > maxJoined {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(out) == 0 && len(f) >= maxJoined {
			if _, err := w.nc.Write(f); err != nil {
				return err
			}
			continue
		}
		out = append(out, f...)
	}
	return flush()
}

// deflates reports whether p goes out deflated on w: the client
// negotiated permessage-deflate, and p may be compressed and is over the
// threshold. Such a frame is written by gorilla; every other one raw.
func (s *Session) deflates(w *wsConn, p *Packet) bool {
	t := s.srv.cfg.CompressionThreshold
	return w.deflate && p.Compress && t > 0 && len(p.Data) > t
}

// writeDeflated writes a data packet deflated through gorilla's Conn (a
// broadcast's message prepared once for every connection).
func writeDeflated(conn *websocket.Conn, p *Packet) error {
	conn.EnableWriteCompression(true)
	if p.shared {
		pm, err := p.preparedMessage()
		if err != nil {
			return err
		}
		return conn.WritePreparedMessage(pm)
	}
	if p.Binary {
		return conn.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	wr, err := conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if _, err := wr.Write([]byte{byte(p.Type)}); err != nil {
		return err
	}
	if _, err := wr.Write(p.Data); err != nil {
		return err
	}
	return wr.Close()
}

// closeWithoutStatus sends a close frame with no status code (the peer sees
// 1005) and closes the connection.
func closeWithoutStatus(conn *websocket.Conn) {
	_ = conn.WriteControl(websocket.CloseMessage, []byte{}, time.Now().Add(time.Second))
	_ = conn.Close()
}

// canWriteInlineLocked reports whether Send may write on the caller's
// goroutine: a WebSocket that is open, with nothing queued, no writer
// running and no frame half written.
func (s *Session) canWriteInlineLocked() bool {
	w := s.ws
	return s.transport == transportWebSocket && w != nil && w.fd != nil && !w.closing &&
		!s.writing && len(s.queue) == 0 && s.partial == nil
}

// writeInline writes packets with one non-blocking write, the frames one
// after the other, up to the first one gorilla must deflate. What it cannot
// write at once (a full send buffer, the rest of a write taken in part, a
// frame to deflate) is queued for a writer goroutine. The caller has set
// s.writing; with recycle, packets is the session's own queue slice, which
// is kept for reuse.
func (s *Session) writeInline(packets []*Packet, recycle bool) {
	w := s.ws
	k := 0
	for ; k < len(packets); k++ {
		if s.deflates(w, packets[k]) {
			break // gorilla deflates it in the writer
		}
	}
	written := 0
	var partial []byte
	var fail error
	if k > 0 {
		var out []byte
		var bp *[]byte
		if k == 1 {
			out = packets[0].wireFrame()
		} else {
			bp = framePool.Get().(*[]byte)
			out = (*bp)[:0]
			for _, p := range packets[:k] {
				out = append(out, p.wireFrame()...)
			}
		}
		n, err := rawWrite(w.fd, out)
		switch {
		case err == errWouldBlock:
		case err != nil:
			fail = err
		default:
			written = k
			if n < len(out) {
				partial = out[n:]
				if bp != nil {
					partial = append([]byte(nil), partial...)
				}
			}
		}
		if bp != nil && cap(out) <= maxPooledFrames {
			*bp = out[:0]
			framePool.Put(bp)
		}
	}
	s.mu.Lock()
	if fail != nil {
		s.writing = false
		s.mu.Unlock()
		s.close("transport error", fail, false)
		return
	}
	s.partial = partial
	rest := packets[written:]
	if len(rest) > 0 {
		// Ahead of anything queued by others meanwhile.
		q := make([]*Packet, 0, len(rest)+len(s.queue))
		q = append(append(q, rest...), s.queue...)
		s.queue = q
		for _, p := range rest {
			s.queued += p.size()
		}
	}
	if recycle && s.spare == nil {
		clear(packets)
		s.spare = packets[:0]
	}
	if len(s.queue) == 0 && s.partial == nil && !w.closing {
		s.writing = false
		s.mu.Unlock()
		return
	}
	if len(rest) == 0 && s.partial == nil && !w.closing {
		// All written; more came meanwhile: the flushers write it.
		s.mu.Unlock()
		s.srv.flushes.Push(s)
		return
	}
	over := s.queued > s.srv.cfg.MaxBufferedBytes
	// s.writing stays set: this writer owns the connection (and ends it if
	// the session closed meanwhile).
	go s.writeLoop(w)
	s.mu.Unlock()
	if over {
		s.close("transport error", ErrSlowClient, false)
	}
}

// framePool holds the buffers in which several frames are joined for one
// write.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledFrames = 64 << 10
