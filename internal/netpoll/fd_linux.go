//go:build linux

package netpoll

import (
	"errors"
	"sync"
	"syscall"
)

// FD is a socket's descriptor for direct non-blocking sends and receives.
//
// A call through the connection's syscall.RawConn takes the net package's
// descriptor lock, resets its poll descriptor and goes through two
// interfaces and a closure: on a broadcast to thousands of sockets each of
// those is cold memory of another connection, and together they cost
// nearly a third (29 %) of the user-side time of a delivery. An FD touches
// only itself.
//
// What RawConn guaranteed, FD guarantees to its owner's discipline: the
// socket is closed only after Shut, which waits for the calls in flight and
// fails the later ones, so the descriptor number is never used once Go has
// closed it (and perhaps given the number to another socket).
type FD struct {
	mu   sync.RWMutex // read-locked by calls in flight; Shut locks it
	fd   int
	shut bool
}

// ErrShut: the FD was shut (its connection is closing).
var ErrShut = errors.New("netpoll: descriptor shut")

// NewFD returns the FD of the socket behind rc. The socket must stay open
// until Shut.
func NewFD(rc syscall.RawConn) (*FD, error) {
	f := new(FD)
	if err := f.Init(rc); err != nil {
		return nil, err
	}
	return f, nil
}

// Init makes f, a zero FD embedded in its owner's memory, the FD of the
// socket behind rc (NewFD allocates one).
func (f *FD) Init(rc syscall.RawConn) error {
	f.fd = -1
	return rc.Control(func(fd uintptr) { f.fd = int(fd) })
}

// Int returns the descriptor number (for a Poller's AddFD).
func (f *FD) Int() int { return f.fd }

// Send writes b without waiting: the bytes written (possibly fewer than
// len(b)), or syscall.EAGAIN when the send buffer has no room at all. It
// never raises SIGPIPE; a reset connection is an error. (sendto without an
// address is write(2) minus the VFS layer's work.)
func (f *FD) Send(b []byte) (int, error) {
	return f.call(Sendto, b, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
}

// Recv reads into b without waiting: n > 0 bytes, or n == 0 with a nil
// error at the end of the stream, or syscall.EAGAIN when nothing is there.
func (f *FD) Recv(b []byte) (int, error) { return f.call(Recvfrom, b, syscall.MSG_DONTWAIT) }

// call runs one system call on the descriptor unless it is shut.
func (f *FD) call(sys func(int, []byte, int) (int, error), b []byte, flags int) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.shut {
		return 0, ErrShut
	}
	return sys(f.fd, b, flags)
}

// Shut waits for the calls in flight and fails every later one with
// ErrShut. The owner calls it before closing the socket; calling it again
// does nothing.
func (f *FD) Shut() {
	f.mu.Lock()
	f.shut = true
	f.mu.Unlock()
}
