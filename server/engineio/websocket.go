package engineio

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

func newWSConn(conn *websocket.Conn) *wsConn { return &wsConn{conn: conn} }

// openWebSocket runs a session that started on WebSocket: the open packet,
// then the read loop on this goroutine and a writer goroutine.
func (s *Session) openWebSocket(conn *websocket.Conn) {
	conn.SetReadLimit(int64(s.srv.cfg.MaxPayload))
	w := newWSConn(conn)
	s.mu.Lock()
	s.transport = transportWebSocket
	s.ws = w
	// The open packet goes first, before anything OnConnection queued.
	s.queue = append([]*Packet{{Type: Open, Data: s.handshakeBody(false)}}, s.queue...)
	s.wakeLocked()
	s.mu.Unlock()
	s.startHeartbeat()
	// The reader gets a fresh goroutine with a small stack; the HTTP
	// handler's goroutine, whose stack grew while serving the handshake,
	// ends here.
	go s.readLoop(w)
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
	conn.SetReadLimit(int64(s.srv.cfg.MaxPayload))
	if !s.probe(conn) {
		_ = conn.Close()
		s.mu.Lock()
		if s.transport == transportPolling {
			s.upgrading = false
		}
		s.mu.Unlock()
		return
	}
	ws := newWSConn(conn)
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
		s.poll.final = Noop
		select {
		case s.poll.wake <- struct{}{}:
		default:
		}
		s.poll = nil
	}
	s.wakeLocked()
	s.mu.Unlock()
	go s.readLoop(ws)
}

// probe runs the upgrade handshake on conn and reports whether the client
// completed it with the upgrade packet within Config.UpgradeTimeout.
func (s *Session) probe(conn *websocket.Conn) bool {
	deadline := time.Now().Add(s.srv.cfg.UpgradeTimeout)
	_ = conn.SetReadDeadline(deadline)
	defer conn.SetReadDeadline(time.Time{})
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			return false
		}
		p, err := decodeText(data)
		if err != nil {
			return false
		}
		switch {
		case p.Type == Ping && string(p.Data) == "probe":
			_ = conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
			if conn.WriteMessage(websocket.TextMessage, []byte("3probe")) != nil {
				return false
			}
			// Release the pending poll so that the client can pause it.
			s.mu.Lock()
			if s.poll != nil && len(s.queue) == 0 {
				s.poll.final = Noop
				select {
				case s.poll.wake <- struct{}{}:
				default:
				}
			}
			s.mu.Unlock()
		case p.Type == Upgrade:
			return true
		default:
			return false
		}
	}
}

// readLoop reads messages until the connection ends and delivers them in
// order.
func (s *Session) readLoop(w *wsConn) {
	for {
		mt, data, err := w.conn.ReadMessage()
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
			s.stopWriting()
			return
		}
		if mt == websocket.BinaryMessage {
			s.enqueue(inPacket{Type: Message, Data: data, Binary: true})
			continue
		}
		p, perr := decodeText(data)
		if perr != nil {
			s.enqueue(inPacket{end: true, reason: "parse error", err: perr})
			s.stopWriting()
			return
		}
		s.enqueue(p)
	}
}

// stopWriting closes a WebSocket whose reader ended: nothing more can be
// exchanged on it. The session itself closes when the dispatcher reaches
// the end of its input.
func (s *Session) stopWriting() {
	s.mu.Lock()
	if w := s.ws; w != nil && !w.closing {
		w.closing, w.flush = true, false
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

// writeLoop writes the session's output until the queue is empty, then
// ends; when the session is closing it closes the connection, after the
// queue if the close flushes. A broadcast packet's frame is prepared once
// and shared by every connection.
func (s *Session) writeLoop(w *wsConn) {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || (w.closing && !w.flush) {
			s.writing = false
			finish := w.closing && !w.finished
			w.finished = w.finished || finish
			flush := w.flush
			s.mu.Unlock()
			if finish {
				if flush {
					_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
					_ = w.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				}
				_ = w.conn.Close()
			}
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare, nil
		s.queued = 0
		s.mu.Unlock()

		_ = w.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
		var err error
		for _, p := range batch {
			if err = s.writePacket(w.conn, p); err != nil {
				break
			}
		}
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

func (s *Session) writePacket(conn *websocket.Conn, p *Packet) error {
	threshold := s.srv.cfg.CompressionThreshold
	if threshold > 0 {
		conn.EnableWriteCompression(p.Compress && len(p.Data) > threshold)
	}
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
