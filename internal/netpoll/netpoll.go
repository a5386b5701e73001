// Package netpoll tells many sockets' owners when their socket has input,
// from one epoll instance per Poller, so that an idle connection needs no
// goroutine parked in a read.
//
// The epoll descriptor itself is registered with Go's own netpoller: a
// Poller's goroutine waits like any network read, it never blocks an OS
// thread. Sockets stay ordinary net.Conns (Go closes them; reads and writes
// go through their syscall.RawConn, which keeps the descriptor from being
// closed and reused underneath). Level-triggered: a handler that leaves
// input unread is called again.
package netpoll

import (
	"errors"
	"syscall"
)

// Handler is told that its socket is readable (or hung up, or in error: a
// read then tells which). It runs on the Poller's goroutine: it reads what
// is there without blocking and returns quickly.
type Handler interface {
	OnReadable()
}

// ErrUnsupported: no epoll on this platform; callers read with a goroutine
// per connection instead.
var ErrUnsupported = errors.New("netpoll: not supported on this platform")

// Read reads from a socket's RawConn without waiting: n > 0 bytes, or
// n == 0 with err == nil at EOF, or syscall.EAGAIN when nothing is there.
func Read(rc syscall.RawConn, b []byte) (int, error) {
	var (
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return true // never wait for readability here
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return n, nil
}
