package server

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// cycle connects one WebSocket client to "/" and disconnects it, the
// cheapest full lifecycle: handshake, CONNECT, its answer, close.
func cycle(s *testServer) error {
	conn, _, err := dialer.Dial(s.wsURL(), nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, b, err := conn.ReadMessage(); err != nil || b[0] != '0' {
		return errorf("open packet %q: %v", b, err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		return err
	}
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if string(b) == "2" {
			continue
		}
		if !strings.HasPrefix(string(b), `40{"sid":"`) || !json.Valid(b[2:]) {
			return errorf("CONNECT answer %q", b)
		}
		break
	}
	return conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

type testError string

func (e testError) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	b, _ := json.Marshal(args)
	return testError(format + " " + string(b))
}

// TestConnectDisconnectCycles: 10,000 connect/disconnect cycles (issue 8),
// in parallel batches. No race (under -race), and afterwards no socket,
// session, room, goroutine or heap left over from them.
func TestConnectDisconnectCycles(t *testing.T) {
	const (
		cycles  = 10_000
		workers = 16
	)
	s := startServer(t, Config{}, nil)
	// Warm up pools, the HTTP server and the dialer, then take the baseline.
	for range 20 {
		if err := cycle(s); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, s, -1)
	baseG, baseHeap := snapshot()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cycles; i += workers {
				if err := cycle(s); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	settle(t, s, baseG)
	g, heap := snapshot()
	t.Logf("%d cycles in %v (%v/cycle); goroutines %d -> %d; heap %d KiB -> %d KiB",
		cycles, elapsed.Round(time.Millisecond), (elapsed / cycles).Round(time.Microsecond), baseG, g, baseHeap>>10, heap>>10)
	if heap > baseHeap+4<<20 {
		t.Fatalf("heap %d KiB after the cycles, baseline %d KiB", heap>>10, baseHeap>>10)
	}
}

// settle waits until every socket and session is gone, no room is left and,
// with goroutines >= 0, the goroutine count is back to it.
func settle(t *testing.T, s *testServer, goroutines int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rooms := s.srv.LocalRooms("")
		n, sessions, g := s.srv.Sockets().Len(), s.srv.eio.Count(), runtime.NumGoroutine()
		if n == 0 && sessions == 0 && len(rooms) == 0 && (goroutines < 0 || g <= goroutines) {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("not settled: %d sockets, %d sessions, %d rooms, %d goroutines (baseline %d)\n%s", n, sessions, len(rooms), g, goroutines, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func snapshot() (goroutines int, heap uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapAlloc
}
