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
	return now(rc.Read, syscall.Read, b)
}

// Write writes to a socket's RawConn without waiting: the bytes written
// (possibly fewer than len(b)), or syscall.EAGAIN when the send buffer has
// no room at all.
func Write(rc syscall.RawConn, b []byte) (int, error) {
	return now(rc.Write, syscall.Write, b)
}

// now runs one system call on the descriptor, retried on EINTR, inside
// rc's Read or Write (which keeps the descriptor from being closed and
// reused meanwhile), and never waits for readiness.
func now(use func(func(uintptr) bool) error, call func(int, []byte) (int, error), b []byte) (int, error) {
	var (
		n    int
		cerr error
	)
	err := use(func(fd uintptr) bool {
		for {
			n, cerr = call(int(fd), b)
			if cerr != syscall.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return n, nil
}
