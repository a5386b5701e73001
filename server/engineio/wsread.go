package engineio

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/gorilla/websocket"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
)

// A WebSocket's input is read without a goroutine per connection where the
// platform allows: the server's Pollers (one per CPU) say which sockets
// have input, and the connection's wsReader reads it without blocking,
// parses the frames (RFC 6455, as sent by clients: masked) and queues the
// messages for the session's dispatcher. An idle connection then costs no
// goroutine stack and no read buffer. During the upgrade probe the same
// parser runs on the HTTP handler's goroutine, so that nothing the client
// sends right after the upgrade packet is lost in between. With
// permessage-deflate (no context takeover, as the server's answer asks), a
// message whose first frame has RSV1 set is inflated here.

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// errPeerClosed: the client sent a close frame.
var errPeerClosed = errors.New("engineio: websocket closed by the client")

// wsProtocolError is a frame the client may not send; the connection is
// closed with code and text, as gorilla does.
type wsProtocolError struct {
	code int
	text string
}

func (e *wsProtocolError) Error() string { return "websocket: " + e.text }

// closeFrame is the frame to send before closing for this error.
func (e *wsProtocolError) closeFrame() []byte {
	return (&Packet{wsOp: websocket.CloseMessage, Data: websocket.FormatCloseMessage(e.code, e.text)}).wireFrame()
}

var errMessageTooBig = &wsProtocolError{code: websocket.CloseMessageTooBig}

// messageFunc receives a complete data message (op is opText or opBinary);
// data belongs to the callee. It returns false to stop parsing after it.
type messageFunc func(op byte, data []byte) bool

type wsReader struct {
	s       *Session
	limit   int
	deflate bool              // permessage-deflate was negotiated
	pong    func(data []byte) // answers a ping

	pending     []byte // the start of a frame whose rest has not come yet
	msg         []byte // a fragmented message so far
	msgOp       byte   // its opcode, 0 when none is in progress
	msgDeflated bool   // its first frame had RSV1 set

	// Poller mode.
	poller *netpoll.Poller
	sock   *netpoll.FD
	fd     int32
	ended  bool // the end was queued; only the poller goroutine reads it
}

// feed parses the frames at the start of b (which it may modify: it
// unmasks in place) and returns the bytes of an incomplete frame at its
// end. It stops early when h returns false, returning what follows.
func (r *wsReader) feed(b []byte, h messageFunc) ([]byte, error) {
	for len(b) >= 2 {
		b0, b1 := b[0], b[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		hdr, n, ok := wsframe.PayloadLength(b)
		if !ok {
			return b, nil
		}
		if err := r.check(b0, b1, fin, op, n); err != nil {
			return nil, err
		}
		hdr += 4 // masking key
		if len(b) < hdr || uint64(len(b)-hdr) < n {
			return b, nil
		}
		payload := b[hdr : hdr+int(n)]
		unmask(payload, b[hdr-4:hdr])
		b = b[hdr+int(n):]
		switch op {
		case opPing:
			r.pong(append([]byte(nil), payload...))
		case opPong:
		case opClose:
			return nil, errPeerClosed
		case opContinuation:
			r.msg = append(r.msg, payload...)
			if fin {
				op, data, deflated := r.msgOp, r.msg, r.msgDeflated
				r.msg, r.msgOp, r.msgDeflated = nil, 0, false
				if data, err := r.message(data, deflated, true); err != nil {
					return nil, err
				} else if !h(op, data) {
					return b, nil
				}
			}
		default:
			deflated := b0&0x40 != 0
			if !fin {
				r.msgOp, r.msgDeflated = op, deflated
				r.msg = append(make([]byte, 0, len(payload)), payload...)
				continue
			}
			if data, err := r.message(payload, deflated, false); err != nil {
				return nil, err
			} else if !h(op, data) {
				return b, nil
			}
		}
	}
	return b, nil
}

// message returns a whole message's data for the handler, which keeps it:
// inflated when deflated, else p itself when owned (the reader's own
// copy), else a copy of p (the read buffer is reused).
func (r *wsReader) message(p []byte, deflated, owned bool) ([]byte, error) {
	switch {
	case deflated:
		return inflate(p, r.limit)
	case owned:
		return p, nil
	}
	return append([]byte(nil), p...), nil
}

// check validates a frame header as gorilla does, and the message size.
func (r *wsReader) check(b0, b1 byte, fin bool, op byte, n uint64) error {
	rsv := b0 & 0x70
	if rsv == 0x40 && r.deflate {
		rsv = 0 // a deflated message (gorilla accepts RSV1 on any frame once negotiated)
	}
	if rsv != 0 {
		return &wsProtocolError{websocket.CloseProtocolError, fmt.Sprintf("unexpected reserved bits 0x%x", rsv)}
	}
	switch op {
	case opClose, opPing, opPong:
		if n > 125 {
			return &wsProtocolError{websocket.CloseProtocolError, "control frame length > 125"}
		}
		if !fin {
			return &wsProtocolError{websocket.CloseProtocolError, "control frame not final"}
		}
	case opContinuation:
		if r.msgOp == 0 {
			return &wsProtocolError{websocket.CloseProtocolError, "continuation after final message frame"}
		}
	case opText, opBinary:
		if r.msgOp != 0 {
			return &wsProtocolError{websocket.CloseProtocolError, "message start before final message frame"}
		}
	default:
		return &wsProtocolError{websocket.CloseProtocolError, fmt.Sprintf("unknown opcode %d", op)}
	}
	if b1&0x80 == 0 {
		return &wsProtocolError{websocket.CloseProtocolError, "incorrect mask flag"}
	}
	if op < opClose && uint64(len(r.msg))+n > uint64(r.limit) {
		return errMessageTooBig
	}
	return nil
}

func unmask(b, key []byte) {
	k := binary.LittleEndian.Uint32(key)
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}

// keep stores the unparsed rest as the pending input (nil when none, so an
// idle connection holds no buffer).
func (r *wsReader) keep(rest []byte) {
	if len(rest) == 0 {
		r.pending = nil
		return
	}
	r.pending = append(r.pending[:0], rest...)
}

// readUntil reads conn (blocking, within its deadline) until h returns
// false; the bytes after that message stay pending.
func (r *wsReader) readUntil(conn net.Conn, h messageFunc) error {
	buf := make([]byte, 512)
	stop := false
	wrap := func(op byte, data []byte) bool {
		if h(op, data) {
			return true
		}
		stop = true
		return false
	}
	for !stop {
		n, err := conn.Read(buf)
		if n > 0 {
			data := append(r.pending, buf[:n]...)
			rest, ferr := r.feed(data, wrap)
			r.keep(rest)
			if ferr != nil {
				return ferr
			}
		}
		if err != nil && !stop {
			return err
		}
	}
	return nil
}

// deflateTail ends a message's deflate stream (RFC 7692 7.2.2), then adds
// an empty final block so that the reader ends cleanly.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

var (
	inflaters = sync.Pool{}
	// errBadDeflate: a message that does not inflate; the connection is
	// closed with 1007 (invalid payload data).
	errBadDeflate = &wsProtocolError{websocket.CloseInvalidFramePayloadData, "invalid compressed data"}
)

// inflate decompresses a permessage-deflate message (no context takeover:
// every message stands alone). Its inflated size is bounded by limit, as
// Node's ws bounds it by maxPayload, so that a small message cannot
// inflate into a huge one.
func inflate(p []byte, limit int) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(p), strings.NewReader(deflateTail))
	fr, _ := inflaters.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(src)
	} else if err := fr.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, errBadDeflate
	}
	defer inflaters.Put(fr)
	out, err := io.ReadAll(io.LimitReader(fr, int64(limit)+1))
	switch {
	case err != nil:
		return nil, errBadDeflate
	case len(out) > limit:
		return nil, errMessageTooBig
	}
	return out, nil
}

// Poller mode.

var readBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// startPolled hands the connection's input to a Poller, after the messages
// already read (the bytes after the upgrade packet). It reports false when
// no Poller takes it; the caller then reads with a goroutine.
func (s *Session) startPolled(w *wsConn, r *wsReader) bool {
	ps := s.srv.pollersFor(w)
	if len(ps) == 0 {
		return false
	}
	r.fd = int32(w.fd.Int())
	r.poller, r.sock, r.pong = ps[int(r.fd)%len(ps)], w.fd, s.sendPong
	if len(r.pending) > 0 {
		rest, err := r.feed(r.pending, r.deliver)
		r.keep(rest)
		if err != nil {
			r.fail(err)
			return true
		}
	}
	s.qmu.Lock()
	s.rd = r
	s.qmu.Unlock()
	w.rd.Store(r)
	if err := r.poller.AddFD(int(r.fd), r); err != nil {
		s.qmu.Lock()
		s.rd = nil
		s.qmu.Unlock()
		w.rd.Store(nil)
		return false
	}
	return true
}

func (s *Session) sendPong(data []byte) {
	_ = s.Send(&Packet{wsOp: websocket.PongMessage, Data: data})
}

// OnReadable implements netpoll.Handler: it reads what the socket has and
// queues the complete messages.
func (r *wsReader) OnReadable() {
	if r.ended {
		return
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	n, err := r.sock.Recv(*bp)
	switch {
	case err == syscall.EAGAIN:
		return
	case err != nil:
		r.fail(err)
		return
	case n == 0:
		if len(r.pending) > 0 || r.msgOp != 0 {
			r.fail(errors.New("engineio: unexpected EOF"))
		} else {
			r.fail(errPeerClosed) // gorilla: a CloseError (1006), "transport close"
		}
		return
	}
	data := (*bp)[:n]
	if len(r.pending) > 0 {
		data = append(r.pending, data...)
	}
	rest, ferr := r.feed(data, r.deliver)
	if ferr != nil {
		r.fail(ferr)
		return
	}
	r.keep(rest)
}

// deliver queues a message for the dispatcher; the input pauses while the
// dispatcher's queue is full.
func (r *wsReader) deliver(op byte, data []byte) bool {
	if r.ended {
		return false
	}
	if op == opBinary {
		r.s.enqueuePolled(inPacket{Type: Message, Data: data, Binary: true})
		return true
	}
	p, err := decodeText(data)
	if err != nil {
		r.end("parse error", err, nil)
		return false
	}
	r.s.enqueuePolled(p)
	return true
}

// fail ends the input after a read or protocol error.
func (r *wsReader) fail(err error) {
	var pe *wsProtocolError
	switch {
	case errors.Is(err, errPeerClosed):
		r.end("transport close", err, nil)
	case err == errMessageTooBig:
		r.end("transport error", ErrTooLarge, errMessageTooBig.closeFrame())
	case errors.As(err, &pe):
		r.end("transport error", err, pe.closeFrame())
	default:
		r.end("transport error", err, nil)
	}
}

// end queues the end of the input behind the messages before it and stops
// the connection's output (after final, a close frame, when not nil).
func (r *wsReader) end(reason string, err error, final []byte) {
	if r.ended {
		return
	}
	r.ended = true
	r.detach()
	r.s.stopWriting(final)
	r.s.enqueuePolled(inPacket{end: true, reason: reason, err: err})
}

// detach stops the Poller's calls (the connection is closing).
func (r *wsReader) detach() {
	if r.poller != nil && r.fd >= 0 {
		r.poller.Remove(r.fd, r)
	}
}

// enqueuePolled is enqueue for the Poller's goroutine, which must not wait:
// when the queue is full the socket's input is paused until the dispatcher
// takes it.
func (s *Session) enqueuePolled(p inPacket) {
	s.qmu.Lock()
	s.pushLocked(p)
	if len(s.inbound) >= maxInbound && !s.inPaused && s.rd != nil && !p.end {
		s.inPaused = true
		_ = s.rd.poller.Pause(s.rd.fd, s.rd)
	}
	s.qmu.Unlock()
}

// resumeLocked lets a paused input be read again; s.qmu is held.
func (s *Session) resumeLocked() {
	if s.inPaused {
		s.inPaused = false
		if r := s.rd; r != nil && !r.ended {
			_ = r.poller.Resume(r.fd, r)
		}
	}
}

// pollersFor returns the server's Pollers (one per CPU, started with the
// first WebSocket) for a connection they can read: none for one without a
// raw descriptor, none where epoll is missing.
func (s *Server) pollersFor(w *wsConn) []*netpoll.Poller {
	if w.fd == nil || w.fd.Int() < 0 {
		return nil
	}
	s.pollOnce.Do(func() {
		for range cap(s.pollers) {
			p, err := netpoll.New()
			if err != nil {
				break
			}
			s.pollers = append(s.pollers, p)
		}
	})
	return s.pollers
}
