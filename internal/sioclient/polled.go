package sioclient

import (
	"bytes"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
)

// polledReader reads a WebSocket client's input when its Poller says there
// is some, instead of a goroutine per client blocked in a read: the load
// generator holds thousands of connections, and a wake-up per message per
// goroutine would cost it more CPU than the server spends sending.
//
// It reads the server's 101 answer and the open packet first (while hs is
// set, for the dialing goroutine), then parses the server's frames itself
// (unmasked, as RFC 6455 has servers send them).
type polledReader struct {
	c       *Client
	t       *rawWS
	p       *netpoll.Poller
	fd      int32
	hs      *handshake // until the open packet is read
	pending []byte     // what was read and not parsed yet (a frame's start)
	frag    []byte     // a fragmented message so far
	fragOp  byte
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

var (
	errBadFrame = errors.New("sioclient: malformed WebSocket frame from the server")
	errEOF      = errors.New("EOF")
)

// OnReadable reads what the socket has, without waiting. The Poller is
// edge-triggered for it: it reads until a read comes back short (the
// socket was drained then; input arriving later calls it again).
func (r *polledReader) OnReadable() {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	for {
		n, err := r.t.recv(*bp, syscall.MSG_DONTWAIT)
		if err == syscall.EAGAIN {
			return
		}
		r.input((*bp)[:n], err)
		if err != nil || n < len(*bp) {
			return // drained, at its end, or failed (input ended the client)
		}
	}
}

// input handles what a read returned: data, or the end of the stream
// (no data, no error), or the read's error.
func (r *polledReader) input(data []byte, err error) {
	if err == nil && len(data) == 0 {
		err = errEOF
	}
	if r.hs != nil {
		r.handshakeInput(data, err)
		return
	}
	if err == nil {
		err = r.feed(data)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = &Error{Code: CodeClosed, Err: err}
		}
		r.c.shutdown(err)
	}
}

// handshakeInput collects the 101 answer and the open packet, and hands
// the open packet (or why there is none) to the dialing goroutine.
func (r *polledReader) handshakeInput(data []byte, err error) {
	if err != nil {
		msg := "read the upgrade answer"
		if bytes.Contains(r.pending, []byte("\r\n\r\n")) {
			msg = "open packet"
		}
		r.endHandshake(nil, &Error{Code: CodeHandshake, Message: msg, Err: err})
		return
	}
	r.pending = append(r.pending, data...)
	open, used, herr := parseHandshake(r.pending, r.hs.key)
	switch {
	case herr != nil:
		r.endHandshake(nil, herr)
	case used > 0:
		open = bytes.Clone(open)
		r.pending = append(r.pending[:0], r.pending[used:]...)
		r.endHandshake(open, nil)
	}
}

func (r *polledReader) endHandshake(open []byte, err error) {
	hs := r.hs
	r.hs = nil
	if err != nil && r.p != nil {
		r.p.Remove(r.fd, r) // the dialer closes the socket
	}
	hs.done <- hsResult{open: open, err: err}
}

// dropPolled takes the client off its Poller (a dial that failed).
func (c *Client) dropPolled() {
	if r := c.polled; r != nil {
		r.p.Remove(r.fd, r)
	}
}

// feed handles what was read after what is pending; an incomplete frame
// at the end stays pending.
func (r *polledReader) feed(data []byte) error {
	if len(r.pending) > 0 {
		data = append(r.pending, data...)
	}
	rest, err := r.frames(data, time.Now())
	r.pending = append(r.pending[:0], rest...)
	return err
}

// frames handles the complete frames at the start of b and returns the
// incomplete rest.
func (r *polledReader) frames(b []byte, at time.Time) ([]byte, error) {
	for len(b) >= 2 {
		fin, op := b[0]&0x80 != 0, b[0]&0x0f
		if b[1]&0x80 != 0 {
			return nil, errBadFrame // masked
		}
		hdr, n, ok := wsframe.PayloadLength(b)
		if !ok {
			return b, nil
		}
		if n > 1<<30 {
			return nil, errBadFrame
		}
		if uint64(len(b)-hdr) < n {
			return b, nil
		}
		payload := b[hdr : hdr+int(n)]
		b = b[hdr+int(n):]
		switch {
		case op == 0x8: // close
			return nil, &Error{Code: CodeClosed, Message: "server closed the WebSocket"}
		case op >= 0x8: // ping, pong: the server sends none we need to answer
		case op == 0x0: // continuation
			r.frag = append(r.frag, payload...)
			if fin {
				if err := r.message(r.fragOp, r.frag, at); err != nil {
					return nil, err
				}
				r.frag = r.frag[:0]
			}
		case !fin:
			r.fragOp = op
			r.frag = append(r.frag[:0], payload...)
		default:
			if err := r.message(op, payload, at); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

func (r *polledReader) message(op byte, msg []byte, at time.Time) error {
	if op != 0x1 {
		return nil // binary attachments are not supported
	}
	return r.c.handle(msg, at)
}
