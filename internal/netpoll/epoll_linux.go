//go:build linux

package netpoll

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// Poller is one epoll instance and the goroutine that serves it.
type Poller struct {
	epfd int
	f    *os.File
	rc   syscall.RawConn

	mu       sync.RWMutex
	handlers []pollWatch // by descriptor: numbers are small and dense, and an
	// index is one load where a map lookup hashes and probes cold memory
	n      int  // descriptors watched
	closed bool // epfd is closed (its number may be reused): no epoll_ctl
}

// pollWatch is one descriptor's handler, and whether it is edge-triggered.
type pollWatch struct {
	h    Handler
	edge bool
}

// ErrClosed: the Poller was closed.
var ErrClosed = errors.New("netpoll: poller closed")

// New starts a Poller. Close stops it.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	// Non-blocking, so os registers it with the runtime's netpoller.
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	p := &Poller{epfd: epfd, f: f, rc: rc}
	go p.run()
	return p, nil
}

// Add watches the socket of rc for input; h is called on each readiness
// until Remove or until the socket is closed. It returns the descriptor,
// which Pause, Resume and Remove take.
func (p *Poller) Add(rc syscall.RawConn, h Handler) (int32, error) {
	fd := int32(-1)
	var cerr error
	err := rc.Control(func(u uintptr) {
		fd = int32(u)
		cerr = p.AddFD(int(u), h)
	})
	if err == nil {
		err = cerr
	}
	return fd, err
}

// AddFD is Add for a bare descriptor. Its owner removes it before closing
// it, and since a batch collected before Remove may still call the
// handler once (see Remove), the handler must not read a descriptor its
// owner has closed.
func (p *Poller) AddFD(fd int, h Handler) error { return p.add(fd, pollWatch{h: h}) }

// AddFDEdge is AddFD, edge-triggered: h is called when input arrives, not
// again while input is left unread. So h reads until a read returns less
// than it asked for (or EAGAIN): each arrival after that calls it again.
// That spares epoll a second look at every socket it reported, which a
// reader of many sockets that each get one message at a time pays on every
// message.
func (p *Poller) AddFDEdge(fd int, h Handler) error { return p.add(fd, pollWatch{h: h, edge: true}) }

func (p *Poller) add(fd int, w pollWatch) error {
	if fd < 0 {
		return os.NewSyscallError("epoll_ctl", syscall.EBADF)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	ev := syscall.EpollEvent{Events: w.events(syscall.EPOLLIN | syscall.EPOLLRDHUP), Fd: int32(fd)}
	if e := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); e != nil {
		return os.NewSyscallError("epoll_ctl", e)
	}
	if fd >= len(p.handlers) {
		p.handlers = append(p.handlers, make([]pollWatch, fd+1-len(p.handlers))...)
	}
	p.handlers[fd] = w
	p.n++
	return nil
}

// epollET is syscall.EPOLLET as the uint32 of an EpollEvent's Events.
const epollET = 1 << 31

// events adds the edge-triggered flag to events when w is edge-triggered.
func (w pollWatch) events(events uint32) uint32 {
	if w.edge && events != 0 {
		events |= epollET
	}
	return events
}

// lookupLocked returns the watch of fd when its handler is h.
func (p *Poller) lookupLocked(fd int32, h Handler) (pollWatch, bool) {
	if fd < 0 || int(fd) >= len(p.handlers) || p.handlers[fd].h != h || h == nil {
		return pollWatch{}, false
	}
	return p.handlers[fd], true
}

// Pause stops watching the socket's input until Resume (back-pressure: its
// owner cannot take more now).
func (p *Poller) Pause(fd int32, h Handler) error { return p.mod(fd, h, 0) }

// Resume watches the socket's input again after Pause.
func (p *Poller) Resume(fd int32, h Handler) error {
	return p.mod(fd, h, syscall.EPOLLIN|syscall.EPOLLRDHUP)
}

func (p *Poller) mod(fd int32, h Handler, events uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.lookupLocked(fd, h)
	if p.closed || !ok {
		return nil // removed, or the descriptor is another socket's now
	}
	ev := syscall.EpollEvent{Events: w.events(events), Fd: fd}
	if e := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev); e != nil {
		return os.NewSyscallError("epoll_ctl", e)
	}
	return nil
}

// Remove stops watching the socket of fd for h: h is not called any more,
// except by a batch of events the Poller collected before (a descriptor Go already closed left the epoll set by itself; if it was
// reused since by another Add, that registration is left alone).
func (p *Poller) Remove(fd int32, h Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.lookupLocked(fd, h); p.closed || !ok {
		return
	}
	p.handlers[fd] = pollWatch{}
	p.n--
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
}

// Len returns the number of sockets watched.
func (p *Poller) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.n
}

// Close stops the Poller's goroutine. The sockets are not closed.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.handlers, p.n = nil, 0
	p.mu.Unlock()
	return p.f.Close()
}

// run waits for ready sockets through the runtime's netpoller and calls
// their handlers, until Close.
func (p *Poller) run() {
	events := make([]syscall.EpollEvent, 256)
	ready := make([]Handler, 0, len(events))
	for {
		n := 0
		err := p.rc.Read(func(fd uintptr) bool {
			for {
				var e error
				n, e = syscall.EpollWait(int(fd), events, 0)
				if e == syscall.EINTR {
					continue
				}
				// Nothing ready: park until the epoll descriptor is.
				return n > 0 || e != nil
			}
		})
		if err != nil {
			return // closed
		}
		ready = ready[:0]
		p.mu.RLock()
		for i := 0; i < n; i++ {
			if fd := events[i].Fd; int(fd) < len(p.handlers) {
				if h := p.handlers[fd].h; h != nil {
					ready = append(ready, h)
				}
			}
		}
		p.mu.RUnlock()
		for i, h := range ready {
			h.OnReadable()
			ready[i] = nil
		}
	}
}
