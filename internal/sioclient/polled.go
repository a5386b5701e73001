package sioclient

import (
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
// It parses the server's frames itself (unmasked, as RFC 6455 has servers
// send them), starting with what the raw transport's dial read past the
// open packet (nothing, from an Engine.IO server: it sends nothing more
// until the client's CONNECT).
type polledReader struct {
	c       *Client
	p       *netpoll.Poller
	rc      syscall.RawConn
	fd      int32
	pending []byte // a frame's start, waiting for its rest
	frag    []byte // a fragmented message so far
	fragOp  byte
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

var errBadFrame = errors.New("sioclient: malformed WebSocket frame from the server")

func (c *Client) startPolled(p *netpoll.Poller) error {
	t := c.tr.(*rawWS)
	sc, ok := t.conn.(syscall.Conn)
	if !ok {
		return errors.New("sioclient: connection has no raw descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	r := &polledReader{c: c, p: p, rc: rc, fd: -1, pending: append([]byte(nil), t.rest...)}
	if err := rc.Control(func(fd uintptr) { r.fd = int32(fd) }); err != nil {
		return err
	}
	c.polled = r
	if _, err := p.Add(rc, r); err != nil {
		c.polled = nil
		return err
	}
	return nil
}

func (r *polledReader) OnReadable() {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	n, err := netpoll.Read(r.rc, *bp)
	if err == syscall.EAGAIN {
		return
	}
	if err == nil && n == 0 {
		err = errors.New("EOF")
	}
	if err == nil {
		err = r.feed((*bp)[:n])
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = &Error{Code: CodeClosed, Err: err}
		}
		r.c.shutdown(err)
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
