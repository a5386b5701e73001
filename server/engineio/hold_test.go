package engineio

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/wsframe"
)

// scriptHandler answers each message by its script: "many" sends three
// frames and returns; "block" sends one, then waits for release before
// sending another.
type scriptHandler struct {
	s       *Session
	release chan struct{}
	done    chan string
	held    int // frames queued, not written, when "many" had sent its three
}

func (h *scriptHandler) OnMessage(data []byte, _ bool) {
	switch string(data) {
	case "many":
		for _, m := range []string{"a", "b", "c"} {
			_ = h.s.Send(NewMessage([]byte(m), false))
		}
		h.s.mu.Lock()
		h.held = len(h.s.queue)
		h.s.mu.Unlock()
	case "wait":
		<-h.release
		_ = h.s.Send(NewMessage([]byte("y"), false))
	case "block":
		_ = h.s.Send(NewMessage([]byte("x"), false))
		<-h.release
		_ = h.s.Send(NewMessage([]byte("y"), false))
	}
	h.done <- string(data)
}

func (h *scriptHandler) OnClose(string, error) {}

// rawEngine serves an engine whose sessions run scriptHandler, for a raw
// TCP client that sees how the bytes arrive.
// countingConn counts the writes made through the net.Conn (the inline
// writes go to the socket itself, through SyscallConn).
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func (c *countingConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

type countingListener struct {
	net.Listener
	writes atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

func rawEngine(t *testing.T, cfg Config) (addr string, handlers chan *scriptHandler) {
	addr, handlers, _ = countingEngine(t, cfg)
	return addr, handlers
}

// countingEngine is rawEngine with a count of the writes made through its
// connections' net.Conn.
func countingEngine(t *testing.T, cfg Config) (addr string, handlers chan *scriptHandler, ln *countingListener) {
	t.Helper()
	handlers = make(chan *scriptHandler, 4)
	cfg.OnConnection = func(s *Session) {
		h := &scriptHandler{s: s, release: make(chan struct{}), done: make(chan string, 8)}
		s.SetHandler(h)
		handlers <- h
	}
	srv := NewServer(cfg)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewUnstartedServer(mux)
	ln = &countingListener{Listener: ts.Listener}
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return strings.TrimPrefix(ts.URL, "http://"), handlers, ln
}

// rawRead reads once, with the test's deadline.
func rawRead(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf[:n]
}

// splitFrames parses unmasked server text frames; it fails the test on
// anything else, including a frame cut short.
func splitFrames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		hdr, n, ok := wsframe.PayloadLength(b)
		if !ok || b[0] != 0x81 || uint64(len(b)-hdr) < n {
			t.Fatalf("not whole text frames: %q", b)
		}
		out = append(out, string(b[hdr:hdr+int(n)]))
		b = b[hdr+int(n):]
	}
	return out
}

// readFrames reads once and checks that it got exactly the frames want
// (comma-separated); when says when, for the failure message.
func readFrames(t *testing.T, c net.Conn, want, when string) {
	t.Helper()
	if got := splitFrames(t, rawRead(t, c)); strings.Join(got, ",") != want {
		t.Fatalf("one read %s: %q, want %s", when, got, want)
	}
}

func rawSend(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	key := [4]byte{1, 2, 3, 4}
	f := wsframe.AppendHeader(nil, true, opText, len(msg), true)
	f = append(f, key[:]...)
	for i := 0; i < len(msg); i++ {
		f = append(f, msg[i]^key[i%4])
	}
	if _, err := c.Write(f); err != nil {
		t.Fatal(err)
	}
}

// rawOpen opens a WebSocket session and returns the bytes of the first read
// after the upgrade request.
func rawOpen(t *testing.T, addr string) (net.Conn, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	return c, rawRead(t, c)
}

// TestOpenWithTheUpgradeAnswer: the 101 and the open packet arrive in one
// piece (they are written together).
func TestOpenWithTheUpgradeAnswer(t *testing.T) {
	addr, handlers, ln := countingEngine(t, Config{PingInterval: time.Minute})
	_, first := rawOpen(t, addr)
	<-handlers
	if n := ln.writes.Load(); n != 1 {
		t.Errorf("%d writes for the 101 and the open packet, want 1", n)
	}
	head, rest, ok := bytes.Cut(first, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) ||
		!bytes.Contains(head, []byte("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
		t.Fatalf("first read %q: want the 101 answer", first)
	}
	frames := splitFrames(t, rest)
	if len(frames) != 1 || !strings.HasPrefix(frames[0], `0{"sid":"`) {
		t.Fatalf("after the 101: %q, want the open packet in the same read", frames)
	}
}

// TestBurstFramesWrittenTogether: what a handler sends while handling one
// message leaves in one write, in order.
func TestBurstFramesWrittenTogether(t *testing.T) {
	addr, handlers := rawEngine(t, Config{PingInterval: time.Minute})
	c, _ := rawOpen(t, addr)
	h := <-handlers
	rawSend(t, c, "4many")
	readFrames(t, c, "4a,4b,4c", "after the handler sent three frames")
	if d := <-h.done; d != "many" {
		t.Fatalf("handler handled %q", d)
	}
	if h.held != 3 {
		t.Fatalf("%d frames held when the handler had sent three, want 3 (written together when it returns)", h.held)
	}
}

// TestBlockedHandlerDoesNotHoldItsFrames: a handler that sends and then
// waits does not keep its frame back while it waits (the hold watchdog
// releases it), and what it sends later still arrives, in order.
func TestBlockedHandlerDoesNotHoldItsFrames(t *testing.T) {
	addr, handlers := rawEngine(t, Config{PingInterval: time.Minute})
	c, _ := rawOpen(t, addr)
	h := <-handlers
	rawSend(t, c, "4block")
	readFrames(t, c, "4x", "while the handler waits")
	select {
	case d := <-h.done:
		t.Fatalf("the handler returned (%q) before it was released", d)
	default:
	}
	close(h.release)
	readFrames(t, c, "4y", "after the release")
	// The session still writes inline afterwards.
	rawSend(t, c, "4many")
	readFrames(t, c, "4a,4b,4c", "on a session that held before")
}

// TestHeartbeatNotHeldByABlockedHandler: a handler that waits, holding
// the session's output, past the ping interval does not hold the ping
// back.
func TestHeartbeatNotHeldByABlockedHandler(t *testing.T) {
	addr, handlers := rawEngine(t, Config{PingInterval: 200 * time.Millisecond, PingTimeout: 5 * time.Second})
	c, _ := rawOpen(t, addr)
	h := <-handlers
	rawSend(t, c, "4wait")
	readFrames(t, c, "2", "while the handler waits")
	close(h.release)
	readFrames(t, c, "4y", "after the release")
}
