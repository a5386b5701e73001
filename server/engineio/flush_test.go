package engineio

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tradedash/realtime/internal/netpoll"
)

// dialSessions opens n WebSocket sessions: the clients (their open packet
// read) and the server's sessions, in the same order.
func dialSessions(t *testing.T, e *testEngine, n int) ([]*websocket.Conn, []*Session) {
	t.Helper()
	conns := make([]*websocket.Conn, n)
	sessions := make([]*Session, n)
	for i := range conns {
		conns[i] = e.mustDial(t, "?EIO=4&transport=websocket")
		readText(t, conns[i]) // open
		sessions[i] = e.nextSession(t).s
	}
	return conns, sessions
}

// TestBroadcastFlushOrder: broadcast packets (written by the flushers) and
// direct ones (written inline) sent to several sessions from several
// goroutines reach every client whole and, per sender, in order; packets
// queued before a flushing Close still go out before the close frame.
func TestBroadcastFlushOrder(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, false)
	const clients, perSender = 8, 300
	conns, sessions := dialSessions(t, e, clients)
	var wg sync.WaitGroup
	// sender "b": one shared packet per round to every session (a broadcast)
	wg.Go(func() {
		for n := range perSender {
			p := NewMessage([]byte(fmt.Sprintf("b%d", n)), false).Share()
			for _, s := range sessions {
				_ = s.Send(p)
			}
		}
	})
	// sender "d": direct packets to every session
	wg.Go(func() {
		for n := range perSender {
			for _, s := range sessions {
				_ = s.Send(NewMessage([]byte(fmt.Sprintf("d%d", n)), false))
			}
		}
	})
	wg.Wait()
	for _, s := range sessions {
		_ = s.Send(NewMessage([]byte("last"), false).Share())
		s.Close() // flushing close: everything queued goes first
	}
	for i, c := range conns {
		frames, err := readUntilClose(t, c)
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("client %d: ended with %v, want close 1000", i, err)
		}
		next := map[byte]int{}
		for _, f := range frames {
			if f == "4last" {
				continue
			}
			if !strings.HasPrefix(f, "4") || len(f) < 3 {
				t.Fatalf("client %d: frame %q", i, f)
			}
			var n int
			fmt.Sscanf(f[2:], "%d", &n)
			if n != next[f[1]] {
				t.Fatalf("client %d: %q out of order (want %c%d)", i, f, f[1], next[f[1]])
			}
			next[f[1]]++
		}
		if next['b'] != perSender || next['d'] != perSender || frames[len(frames)-1] != "4last" {
			t.Fatalf("client %d: %d broadcast, %d direct frames, last %q", i, next['b'], next['d'], frames[len(frames)-1])
		}
	}
}

// TestBroadcastToClientNotReading: broadcasts to a client that does not read
// fill its socket; the flusher hands the rest to the connection's writer,
// and once the client reads, every packet arrives in order.
func TestBroadcastToClientNotReading(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute, MaxBufferedBytes: 64 << 20}, false)
	c := e.mustDial(t, "?EIO=4&transport=websocket")
	readText(t, c)
	s := e.nextSession(t).s
	payload := strings.Repeat("x", 16<<10)
	const n = 1000 // 16 MB: more than the loopback socket buffers hold
	for i := range n {
		if err := s.Send(NewMessage([]byte(fmt.Sprintf("%d|%s", i, payload)), false).Share()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range n {
		got := readText(t, c)
		want := fmt.Sprintf("4%d|", i)
		if !strings.HasPrefix(got, want) || len(got) != len(want)+len(payload) {
			t.Fatalf("frame %d: %.20q (%d bytes)", i, got, len(got))
		}
	}
}

// TestCloseWhileBroadcasting: sessions closed without flushing while
// broadcasts are written to them (by the flushers, on the descriptor
// itself). Each client gets an in-order prefix of the broadcasts, then the
// end of the connection; once closed, the session's descriptor refuses
// every call (netpoll.ErrShut), so no write can reach a number Go has
// closed and handed to another socket.
func TestCloseWhileBroadcasting(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			e := startEngineWith(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, false, fast)
			conns, sessions := dialSessions(t, e, 16)
			// The broadcaster runs from before the first close until after
			// the last one.
			var (
				wg      sync.WaitGroup
				started = make(chan struct{})
				closed  atomic.Bool
			)
			wg.Go(func() {
				for n := 0; !closed.Load(); n++ {
					p := NewMessage([]byte(fmt.Sprintf("b%d", n)), false).Share()
					for _, s := range sessions {
						_ = s.Send(p)
					}
					if n == 0 {
						close(started)
					}
				}
			})
			<-started
			for _, s := range sessions {
				s.close("transport error", nil, false)
			}
			closed.Store(true)
			wg.Wait()
			for i, c := range conns {
				frames, _ := readUntilClose(t, c)
				for n, f := range frames {
					if f != fmt.Sprintf("4b%d", n) {
						t.Fatalf("client %d: frame %d is %q", i, n, f)
					}
				}
				s := sessions[i]
				s.mu.Lock()
				w := s.ws
				s.mu.Unlock()
				if w == nil || w.fd == nil {
					t.Fatalf("session %d: no WebSocket descriptor", i)
				}
				waitFor(t, "the descriptor shut", func() bool {
					_, err := w.fd.Send([]byte("x"))
					return err == netpoll.ErrShut
				})
			}
		})
	}
}
