//go:build linux

package netpoll

import (
	"cmp"
	"net"
	"syscall"
	"testing"
	"time"
)

type reader struct {
	rc  syscall.RawConn
	got chan string
}

func (r *reader) OnReadable() {
	b := make([]byte, 64)
	n, err := Read(r.rc, b)
	report(r.got, b, n, err)
}

// report sends what a read returned to got, as a string (nothing for
// EAGAIN; "EOF", which level-triggering reports again until Remove).
func report(got chan string, b []byte, n int, err error) {
	var msg string
	switch {
	case err == syscall.EAGAIN:
		return
	case err != nil:
		msg = "error: " + err.Error()
	case n == 0:
		msg = "EOF"
	default:
		msg = string(b[:n])
	}
	select {
	case got <- msg:
	default:
	}
}

func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return s, c
}

func expect(t *testing.T, ch chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q within 5 s", want)
	}
}

// watch adds the server side of a new connection to p: it returns the
// client side, the server side's reader and its descriptor.
func watch(t *testing.T, p *Poller) (net.Conn, *reader, int32) {
	t.Helper()
	s, c := pair(t)
	rc, _ := s.(*net.TCPConn).SyscallConn()
	r := &reader{rc: rc, got: make(chan string, 4)}
	fd, err := p.Add(rc, r)
	if err != nil {
		t.Fatal(err)
	}
	return c, r, fd
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// quiet checks that nothing arrives while a later, watched socket's input
// does (so the poller did run in between).
func quiet(t *testing.T, p *Poller, ch chan string) {
	t.Helper()
	c2, r2, _ := watch(t, p)
	_, _ = c2.Write([]byte("marker"))
	expect(t, r2.got, "marker")
	select {
	case got := <-ch:
		t.Fatalf("unexpected %q", got)
	default:
	}
}

func TestPollerLifecycle(t *testing.T) {
	p := newPoller(t)
	c, r, fd := watch(t, p)
	if p.Len() != 1 {
		t.Fatalf("Len = %d", p.Len())
	}
	_, _ = c.Write([]byte("one"))
	expect(t, r.got, "one")

	if err := p.Pause(fd, r); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("two"))
	quiet(t, p, r.got)
	if err := p.Resume(fd, r); err != nil {
		t.Fatal(err)
	}
	expect(t, r.got, "two")

	_ = c.Close()
	expect(t, r.got, "EOF")
	p.Remove(fd, r)
	// A batch collected before Remove may still call r once: let the
	// poller run a later batch, drop what came, then nothing more may.
	c3, r3, fd3 := watch(t, p)
	_, _ = c3.Write([]byte("sync"))
	expect(t, r3.got, "sync")
	p.Remove(fd3, r3)
	for len(r.got) > 0 {
		<-r.got
	}
	quiet(t, p, r.got)
	if p.Len() != 2 { // the marker sockets of the two quiet calls
		t.Fatalf("Len after Remove = %d", p.Len())
	}
}

func TestReadOnClosedConn(t *testing.T) {
	s, _ := pair(t)
	rc, _ := s.(*net.TCPConn).SyscallConn()
	_ = s.Close()
	if _, err := Read(rc, make([]byte, 8)); err == nil {
		t.Fatal("Read on a closed conn succeeded")
	}
}

func TestRemoveOfStaleHandlerKeepsNewOne(t *testing.T) {
	p := newPoller(t)
	c, old, fd := watch(t, p)
	p.Remove(fd, old)
	cur := &reader{rc: old.rc, got: make(chan string, 4)}
	if _, err := p.Add(old.rc, cur); err != nil {
		t.Fatal(err)
	}
	p.Remove(fd, old) // stale: must not drop cur
	_, _ = c.Write([]byte("x"))
	expect(t, cur.got, "x")
}

func TestClosedPollerStops(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ := pair(t)
	rc, _ := s.(*net.TCPConn).SyscallConn()
	if _, err := p.Add(rc, &reader{rc: rc}); err == nil {
		t.Fatal("Add on a closed poller succeeded")
	}
}

// Write writes what the socket takes and says EAGAIN when it takes
// nothing more.
func TestWriteUntilFull(t *testing.T) {
	s, c := pair(t)
	rc, _ := s.(*net.TCPConn).SyscallConn()
	b := make([]byte, 64<<10)
	total := 0
	for {
		n, err := Write(rc, b)
		if err == syscall.EAGAIN {
			break
		}
		if err != nil || n <= 0 {
			t.Fatalf("Write: %d, %v", n, err)
		}
		total += n
		if total > 256<<20 {
			t.Fatal("the send buffer never filled")
		}
	}
	got := make([]byte, 1<<20)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(got)
	if err != nil || n == 0 {
		t.Fatalf("the peer read %d, %v", n, err)
	}
}

// TestReadWriteDoNotAllocate: every inline write of the server and every
// read of the Pollers goes through these; they must not allocate.
func TestReadWriteDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	srv, cli := pair(t)
	rc, err := srv.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	crc, err := cli.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	msg, buf := []byte("x"), make([]byte, 16)
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := Write(rc, msg); n != 1 || err != nil {
			t.Fatalf("write %d %v", n, err)
		}
		// The byte is on loopback already, or the read says EAGAIN.
		if _, err := Read(crc, buf); err != nil && err != syscall.EAGAIN {
			t.Fatalf("read %v", err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write and read, want 0", allocs)
	}
}

// fdReader reads a bare descriptor (AddFD's callers own theirs), at most
// size bytes per call (64 when 0).
type fdReader struct {
	fd   int
	got  chan string
	size int
}

func (r *fdReader) OnReadable() {
	b := make([]byte, cmp.Or(r.size, 64))
	n, err := syscall.Read(r.fd, b)
	report(r.got, b, n, err)
}

// socketPair returns a connected pair of non-blocking Unix stream sockets,
// closed at the test's end.
func socketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fds[0]); _ = syscall.Close(fds[1]) })
	return fds
}

// TestAddFD watches a bare descriptor (a socket pair's end that no
// net.Conn holds): its input is reported, Remove stops that, and a closed
// Poller refuses it.
func TestAddFD(t *testing.T) {
	fds := socketPair(t)
	p := newPoller(t)
	r := &fdReader{fd: fds[0], got: make(chan string, 4)}
	if err := p.AddFD(fds[0], r); err != nil {
		t.Fatal(err)
	}
	if err := p.AddFD(fds[0], r); err == nil {
		t.Fatal("a second AddFD of one descriptor succeeded")
	}
	_, _ = syscall.Write(fds[1], []byte("bare"))
	expect(t, r.got, "bare")
	p.Remove(int32(fds[0]), r)
	_, _ = syscall.Write(fds[1], []byte("after"))
	quiet(t, p, r.got)

	closed, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	if err := closed.AddFD(fds[0], r); err != ErrClosed {
		t.Fatalf("AddFD on a closed poller: %v, want ErrClosed", err)
	}
}

// TestAddFDEdge: an edge-triggered handler is called on each arrival of
// input, not again for input it left unread; Pause and Resume keep it
// edge-triggered (Resume reports input that came meanwhile once).
func TestAddFDEdge(t *testing.T) {
	fds := socketPair(t)
	p := newPoller(t)
	r := &fdReader{fd: fds[0], got: make(chan string, 8), size: 2} // leaves the rest unread
	if err := p.AddFDEdge(fds[0], r); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d", p.Len())
	}
	_, _ = syscall.Write(fds[1], []byte("abcd"))
	expect(t, r.got, "ab")
	quiet(t, p, r.got) // "cd" is left: level-triggered would call again
	_, _ = syscall.Write(fds[1], []byte("ef"))
	expect(t, r.got, "cd") // the new arrival's call reads what was left first
	quiet(t, p, r.got)

	if err := p.Pause(int32(fds[0]), r); err != nil {
		t.Fatal(err)
	}
	_, _ = syscall.Write(fds[1], []byte("gh"))
	quiet(t, p, r.got)
	if err := p.Resume(int32(fds[0]), r); err != nil {
		t.Fatal(err)
	}
	expect(t, r.got, "ef")
	quiet(t, p, r.got)
	p.Remove(int32(fds[0]), r)
	if p.Len() != 4 { // the marker sockets of the four quiet calls
		t.Fatalf("Len after Remove = %d", p.Len())
	}
	if err := p.AddFDEdge(-1, r); err == nil {
		t.Fatal("AddFDEdge of -1 succeeded")
	}
}
