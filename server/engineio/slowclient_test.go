package engineio

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestSlowClient: a WebSocket client that never reads while the server keeps
// sending. The session must be closed once MaxBufferedBytes is passed, Send
// never blocks, and the server's memory does not grow with what is sent.
func TestSlowClient(t *testing.T) {
	const bound = 64 << 10
	e := startEngine(t, Config{MaxBufferedBytes: bound, CompressionThreshold: -1}, false)
	c := e.mustDial(t, "?EIO=4&transport=websocket")
	h := e.nextSession(t)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	msg := NewMessage(make([]byte, 16<<10), false)
	sent := 0
	start := time.Now()
	var err error
	for err == nil {
		err = h.s.Send(msg)
		sent += len(msg.Data)
		if time.Since(start) > waitTimeout {
			t.Fatalf("still sending after %v (%d MiB): the bound is not enforced", waitTimeout, sent>>20)
		}
		// Pace the sender as a steady feed does: wait (a little) for the
		// writer to drain the queue into the socket. Once the kernel's
		// buffers are full it cannot, and the queue grows past the bound.
		for wait := time.Now(); err == nil && !h.s.Writable() && time.Since(wait) < 20*time.Millisecond; {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if sent <= 2*bound {
		t.Fatalf("the bound tripped after %d KiB, before the socket buffers filled: the pacing is wrong", sent>>10)
	}
	if !errors.Is(err, ErrSlowClient) {
		t.Fatalf("Send: %v, want ErrSlowClient", err)
	}
	if cl := h.waitClose(t); !errors.Is(cl.err, ErrSlowClient) || cl.reason != "transport error" {
		t.Fatalf("close %q %v", cl.reason, cl.err)
	}
	if err := h.s.Send(msg); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after close: %v", err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 8<<20 {
		t.Fatalf("heap grew by %d KiB after sending %d KiB to a client that does not read", grow>>10, sent>>10)
	}
	t.Logf("sent %d KiB before the bound, heap %+d KiB", sent>>10, (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10)
	// The connection is torn down: the client, reading now, reaches its end.
	start = time.Now()
	if _, err := readUntilClose(t, c); err == nil {
		t.Fatal("connection not closed")
	}
	t.Logf("client saw the end %v after it started reading", time.Since(start))
	waitFor(t, "the session count to drop", func() bool { return e.srv.Count() == 0 })
}
