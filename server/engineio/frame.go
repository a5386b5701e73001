package engineio

import (
	"errors"
	"syscall"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
)

// WebSocket opcodes of the frames we write ourselves (RFC 6455).
const (
	opText   = 0x1
	opBinary = 0x2
)

// errWouldBlock: the socket's send buffer is full; the frame goes to the
// writer goroutine instead.
var errWouldBlock = errors.New("engineio: write would block")

// wireFrame returns the packet as one unmasked, unfragmented, uncompressed
// server WebSocket frame, built on first use and shared by every
// connection the packet is written to inline.
func (p *Packet) wireFrame() []byte {
	p.frameOnce.Do(func() {
		op, n := byte(opText), len(p.Data)+1
		if p.Binary || p.wsOp != 0 {
			op, n = opBinary, len(p.Data)
		}
		if p.wsOp != 0 {
			op = byte(p.wsOp)
		}
		f := wsframe.AppendHeader(make([]byte, 0, n+10), true, op, n, false)
		if !p.Binary && p.wsOp == 0 {
			f = append(f, byte(p.Type))
		}
		p.frame = append(f, p.Data...)
	})
	return p.frame
}

// rawWrite writes b to the socket without waiting: it returns the bytes
// written (possibly fewer than len(b)), or errWouldBlock when the send
// buffer has no room at all.
func rawWrite(fd *netpoll.FD, b []byte) (int, error) {
	n, err := fd.Send(b)
	if err == syscall.EAGAIN {
		return 0, errWouldBlock
	}
	return n, err
}
