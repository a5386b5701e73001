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
	"sync"
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
	o := ops.Get().(*op)
	o.call, o.b = syscall.Read, b
	err := rc.Read(o.fn)
	return o.done(err)
}

// Write writes to a socket's RawConn without waiting: the bytes written
// (possibly fewer than len(b)), or syscall.EAGAIN when the send buffer has
// no room at all.
func Write(rc syscall.RawConn, b []byte) (int, error) {
	o := ops.Get().(*op)
	o.call, o.b = syscall.Write, b
	err := rc.Write(o.fn)
	return o.done(err)
}

// op is one system call run inside a RawConn's Read or Write (which keeps
// the descriptor from being closed and reused meanwhile), retried on
// EINTR, never waiting for readiness. Ops are pooled with their callback
// bound: a closure made per call would be allocated on every read and
// write, since RawConn is an interface.
type op struct {
	call func(int, []byte) (int, error)
	b    []byte
	n    int
	err  error
	fn   func(uintptr) bool
}

var ops = sync.Pool{New: func() any {
	o := &op{}
	o.fn = o.run
	return o
}}

func (o *op) run(fd uintptr) bool {
	for {
		o.n, o.err = o.call(int(fd), o.b)
		if o.err != syscall.EINTR {
			return true
		}
	}
}

// done returns the op's result (err is RawConn's own, such as a closed
// connection) and puts it back in the pool.
func (o *op) done(err error) (int, error) {
	n, cerr := o.n, o.err
	o.call, o.b, o.n, o.err = nil, nil, 0, nil
	ops.Put(o)
	switch {
	case err != nil:
		return 0, err
	case cerr != nil:
		return 0, cerr
	}
	return n, nil
}
