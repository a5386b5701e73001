//go:build linux

package netpoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

func newFD(t *testing.T, c net.Conn) *FD {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFD(rc)
	if err != nil {
		t.Fatal(err)
	}
	if f.Int() < 0 {
		t.Fatalf("Int = %d", f.Int())
	}
	return f
}

func TestFDSendRecv(t *testing.T) {
	s, c := pair(t)
	f := newFD(t, s)

	n, err := f.Send([]byte("hello"))
	if n != 5 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	got := make([]byte, 5)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("peer read %q, %v", got, err)
	}

	// Nothing to read: EAGAIN, not a wait.
	b := make([]byte, 64)
	if n, err := f.Recv(b); n != 0 || err != syscall.EAGAIN {
		t.Fatalf("Recv on no input = %d, %v", n, err)
	}
	if _, err := c.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := f.Recv(b)
		if err == syscall.EAGAIN && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil || string(b[:n]) != "world" {
			t.Fatalf("Recv = %q, %v", b[:n], err)
		}
		break
	}
	// Empty buffers are no calls at all.
	if n, err := f.Send(nil); n != 0 || err != nil {
		t.Fatalf("Send(nil) = %d, %v", n, err)
	}
	if n, err := f.Recv(nil); n != 0 || err != nil {
		t.Fatalf("Recv(nil) = %d, %v", n, err)
	}

	// The peer's end: a read of 0 bytes and no error.
	_ = c.Close()
	for {
		n, err := f.Recv(b)
		if err == syscall.EAGAIN && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			continue
		}
		if n != 0 || err != nil {
			t.Fatalf("Recv at EOF = %d, %v", n, err)
		}
		break
	}
}

// A send to a peer that reset the connection is an error, not a SIGPIPE
// (which would end a test binary that does not ignore it).
func TestFDSendAfterReset(t *testing.T) {
	s, c := pair(t)
	f := newFD(t, s)
	_ = c.(*net.TCPConn).SetLinger(0) // close with a RST
	_ = c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := f.Send([]byte("x"))
		if err != nil {
			if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Send after reset: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("sends to a reset connection kept succeeding")
		}
		time.Sleep(time.Millisecond)
	}
}

// A full send buffer is EAGAIN, with what fitted counted.
func TestFDSendFull(t *testing.T) {
	s, _ := pair(t)
	f := newFD(t, s)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	total := 0
	for i := 0; ; i++ {
		n, err := f.Send(chunk)
		total += n
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("the send buffer never filled")
		}
	}
	if total == 0 {
		t.Fatal("nothing was written before EAGAIN")
	}
}

// After Shut every call fails with ErrShut, and the socket is left to its
// owner to close; Shut again does nothing.
func TestFDShut(t *testing.T) {
	s, c := pair(t)
	f := newFD(t, s)
	f.Shut()
	if _, err := f.Send([]byte("x")); err != ErrShut {
		t.Fatalf("Send after Shut: %v", err)
	}
	if _, err := f.Recv(make([]byte, 8)); err != ErrShut {
		t.Fatalf("Recv after Shut: %v", err)
	}
	f.Shut()
	// The socket itself is still open: its owner closes it.
	if _, err := s.Write([]byte("still")); err != nil {
		t.Fatalf("the connection was closed by Shut: %v", err)
	}
	got := make([]byte, 5)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still" {
		t.Fatalf("peer read %q, %v", got, err)
	}
}

// Shut while other goroutines send: every call either went out on the open
// socket (the peer reads exactly the bytes the calls reported) or failed
// with ErrShut, and once Shut has returned every call fails. (With -race
// this also checks that the calls and Shut synchronize.)
func TestFDShutConcurrent(t *testing.T) {
	s, c := pair(t)
	f := newFD(t, s)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
	)
	start := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				n, err := f.Send([]byte("ab"))
				if err == ErrShut {
					return
				}
				if err != nil && err != syscall.EAGAIN {
					t.Errorf("Send: %v", err)
					return
				}
				mu.Lock()
				sent += n
				mu.Unlock()
			}
		}()
	}
	close(start)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := sent
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no send went out")
		}
		time.Sleep(time.Millisecond)
	}
	f.Shut()
	wg.Wait() // every sender saw ErrShut
	if _, err := f.Send([]byte("x")); err != ErrShut {
		t.Fatalf("Send after Shut: %v", err)
	}
	_ = s.Close()
	// The peer gets exactly what the sends reported.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != sent {
		t.Fatalf("peer read %d bytes, sends reported %d", len(got), sent)
	}
}
