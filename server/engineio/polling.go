package engineio

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writePayload answers a poll with packets, as Node's polling transport does.
func writePayload(w http.ResponseWriter, packets []*Packet) {
	bp := payloadPool.Get().(*[]byte)
	buf := encodePayload((*bp)[:0], packets)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		payloadPool.Put(bp)
	}
}

// openPolling answers the handshake GET with the open packet.
func (s *Session) openPolling(w http.ResponseWriter) {
	s.startHeartbeat()
	writePayload(w, []*Packet{{Type: Open, Data: s.handshakeBody(true)}})
}

// handlePoll serves a GET: it answers at once with what is queued, or waits
// for output, the end of the session, or the client going away.
func (s *Session) handlePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		writeError(w, ErrUnknownSID)
		return
	case s.state == stateClosing && len(s.queue) > 0:
		out := s.takeQueueLocked()
		s.mu.Unlock()
		writePayload(w, out)
		return
	case s.state == stateClosing:
		s.state = stateClosed
		s.mu.Unlock()
		s.srv.remove(s)
		writePayload(w, []*Packet{{Type: Noop}, {Type: Close}})
		s.markDone()
		return
	case s.poll != nil:
		// Two polls at once: Node answers the first with a close packet and
		// this one with a bare 400, and ends the session.
		s.mu.Unlock()
		writeEmpty(w, http.StatusBadRequest)
		s.close("transport error", ErrOverlap, false)
		return
	case len(s.queue) > 0:
		out := s.takeQueueLocked()
		s.mu.Unlock()
		writePayload(w, out)
		return
	case s.upgrading:
		// The client is moving to WebSocket: release its poll at once.
		s.mu.Unlock()
		writePayload(w, []*Packet{{Type: Noop}})
		return
	}
	p := &poll{wake: make(chan struct{}, 1)}
	s.poll = p
	s.mu.Unlock()

	select {
	case <-p.wake:
	case <-r.Context().Done():
		s.mu.Lock()
		mine := s.poll == p
		if mine {
			s.poll = nil
		}
		s.mu.Unlock()
		if mine {
			s.close("transport error", errors.New("engineio: poll connection closed prematurely"), false)
		}
		return
	}
	s.mu.Lock()
	if s.poll == p {
		s.poll = nil
	}
	out := s.takeQueueLocked()
	if p.final == Close || (p.final == Noop && len(out) == 0) {
		out = append(out, &Packet{Type: p.final})
	} else if len(out) == 0 {
		out = append(out, &Packet{Type: Noop})
	}
	s.mu.Unlock()
	writePayload(w, out)
}

// refuseTooLarge answers a POST over the limit with 413 and an empty
// body; as in Node, the session itself stays open (socket.io-client ends
// it on the failed POST). Like Node, which dumps the rest of a request it
// answered, the body is read to its end first, up to 8 times the limit or
// 16 MiB: a connection closed on unread data is reset, and the client,
// still sending, would lose the 413. A larger body is cut off (net/http
// closes the connection).
func refuseTooLarge(w http.ResponseWriter, r *http.Request, limit int) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, max(8*int64(limit), 16<<20)))
	writeEmpty(w, http.StatusRequestEntityTooLarge)
}

// handlePost serves a POST of packets from the client. The packets are
// handled before the answer, so that two requests of one session are handled
// in the order they arrive.
func (s *Session) handlePost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.state != stateOpen {
		st := s.state
		s.mu.Unlock()
		if st == stateClosing {
			writeOK(w) // Node drops data for a closing socket
		} else {
			writeError(w, ErrUnknownSID)
		}
		return
	}
	if s.posting {
		s.mu.Unlock()
		writeEmpty(w, http.StatusBadRequest)
		s.close("transport error", ErrOverlap, false)
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// Engine.IO 4 sends binary as base64 inside text payloads.
		writeEmpty(w, http.StatusBadRequest)
		s.close("transport error", errors.New("engineio: invalid content"), false)
		return
	}
	limit := s.srv.cfg.MaxPayload
	if r.ContentLength > int64(limit) {
		refuseTooLarge(w, r, limit)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		s.close("transport error", errors.New("engineio: data request connection closed prematurely"), false)
		return
	}
	if len(body) > limit {
		refuseTooLarge(w, r, limit)
		return
	}
	packets, perr := decodePayload(body)
	s.deliver(packets)
	if perr != nil {
		// Node handles the packets before the bad one, closes the session
		// with "parse error" and still answers the POST with "ok".
		s.close("parse error", perr, false)
	}
	writeOK(w)
}

func writeOK(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
