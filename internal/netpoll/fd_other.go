//go:build !linux

package netpoll

import (
	"errors"
	"sync"
	"syscall"
)

// FD is a socket for non-blocking sends and receives. Elsewhere than on
// Linux it goes through the connection's syscall.RawConn, which guards the
// descriptor itself; Shut only fails the later calls.
type FD struct {
	rc   syscall.RawConn
	mu   sync.RWMutex
	shut bool
}

// ErrShut: the FD was shut (its connection is closing).
var ErrShut = errors.New("netpoll: descriptor shut")

// NewFD returns the FD of the socket behind rc.
func NewFD(rc syscall.RawConn) (*FD, error) { return &FD{rc: rc}, nil }

// Init makes f the FD of the socket behind rc.
func (f *FD) Init(rc syscall.RawConn) error { f.rc = rc; return nil }

// Int returns -1: there is no Poller here.
func (f *FD) Int() int { return -1 }

// Send writes b without waiting (syscall.EAGAIN when nothing fits).
func (f *FD) Send(b []byte) (int, error) { return f.call(Write, b) }

// Recv reads into b without waiting (syscall.EAGAIN when nothing is there).
func (f *FD) Recv(b []byte) (int, error) { return f.call(Read, b) }

// call runs one call on the socket unless the FD is shut.
func (f *FD) call(op func(syscall.RawConn, []byte) (int, error), b []byte) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.shut {
		return 0, ErrShut
	}
	return op(f.rc, b)
}

// Shut fails every later call with ErrShut.
func (f *FD) Shut() {
	f.mu.Lock()
	f.shut = true
	f.mu.Unlock()
}
