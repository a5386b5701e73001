package engineio

import (
	"testing"
	"time"
)

// TestInlineWriteAfterWriterBurst: a frame written by the writer goroutine
// (the heartbeat ping) must not leave a write deadline behind that fails
// the frames written inline later. Regression: every connection was closed
// with "transport error" WriteTimeout after its first ping.
func TestInlineWriteAfterWriterBurst(t *testing.T) {
	e := startEngine(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 5 * time.Second, WriteTimeout: 100 * time.Millisecond}, false)
	c := e.mustDial(t, "?EIO=4&transport=websocket")
	if open := readText(t, c); open[0] != '0' {
		t.Fatalf("open packet %q", open)
	}
	ts := e.nextSession(t)
	if p := readText(t, c); p != "2" {
		t.Fatalf("got %q, want the ping", p)
	}
	writeText(t, c, "3")
	// Let the writer's deadline (100 ms after the ping) pass, well before
	// the next ping (300 ms after the pong).
	time.Sleep(200 * time.Millisecond)
	for i, msg := range []string{"a", "b", "c"} {
		if err := ts.s.Send(NewMessage([]byte(msg), false)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if got := readText(t, c); got != "4"+msg {
			t.Fatalf("got %q, want %q", got, "4"+msg)
		}
	}
	select {
	case ci := <-ts.closed:
		t.Fatalf("session closed: %s (%v)", ci.reason, ci.err)
	default:
	}
}

// TestInlineWriteAfterUpgrade: the probe's write deadline must not outlive
// the upgrade either.
func TestInlineWriteAfterUpgrade(t *testing.T) {
	e := startEngine(t, Config{PingInterval: 10 * time.Second, WriteTimeout: 100 * time.Millisecond}, false)
	sid, ts := e.handshake(t)
	c := e.mustDial(t, "?EIO=4&transport=websocket&sid="+sid)
	writeText(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("got %q, want 3probe", got)
	}
	writeText(t, c, "5")
	waitFor(t, "the upgrade", func() bool { return ts.s.Transport() == "websocket" })
	time.Sleep(200 * time.Millisecond) // past the probe's write deadline
	if err := ts.s.Send(NewMessage([]byte("x"), false)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := readText(t, c); got != "4x" {
		t.Fatalf("got %q, want 4x", got)
	}
}
