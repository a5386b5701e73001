package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

type benchQuote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
	Change float64 `json:"change"`
	Volume int64   `json:"volume"`
}

// BenchmarkBroadcastRoom measures one Emit to a room of n WebSocket-connected
// sockets: real loopback connections whose clients (in a child process, so
// that 10,000 connections fit the file descriptor limit twice) read
// everything. The packet is encoded once; per recipient the cost is queueing
// the shared, already-encoded packet and writing its prepared frame.
func BenchmarkBroadcastRoom(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := startServer(b, Config{Logger: quietLogger()}, nil)
			startClients(b, s, n)
			waitFor(b, "every socket connected", func() bool { return s.srv.Sockets().Len() == n })
			s.srv.Sockets().To().SocketsJoin("quotes:AAPL")
			q := benchQuote{Symbol: "AAPL", Price: 187.25, Change: -0.42, Volume: 1234567}
			b.ReportAllocs()
			b.ResetTimer()
			var inEmit time.Duration
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				if err := s.srv.To("quotes:AAPL").Emit("quote:update", q); err != nil {
					b.Fatal(err)
				}
				inEmit += time.Since(t0)
				if i%64 == 63 {
					// Let the writers drain so that no client trips the
					// slow-client bound.
					time.Sleep(time.Millisecond)
				}
			}
			b.StopTimer()
			// ns/op includes the writers' and the clients' work on the
			// same cores; emit-ns/op is the time inside Emit (encode once,
			// queue per recipient).
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
			b.ReportMetric(float64(inEmit.Nanoseconds())/float64(b.N), "emit-ns/op")
			if got := s.srv.Sockets().Len(); got != n {
				b.Fatalf("%d sockets left of %d: clients were dropped", got, n)
			}
		})
	}
}

// startClients runs n draining WebSocket clients in a child process (this
// test binary running TestBenchClients) and stops it at cleanup.
func startClients(b *testing.B, s *testServer, n int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BENCH_CLIENTS_URL="+s.wsURL(), fmt.Sprintf("BENCH_CLIENTS_N=%d", n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return
		}
	}
	b.Fatal("client process ended before it was ready")
}

// TestBenchClients is the client side of BenchmarkBroadcastRoom; it runs
// only in the child process the benchmark starts.
func TestBenchClients(t *testing.T) {
	url := os.Getenv("BENCH_CLIENTS_URL")
	if url == "" {
		t.Skip("the client process of BenchmarkBroadcastRoom")
	}
	n, _ := strconv.Atoi(os.Getenv("BENCH_CLIENTS_N"))
	var wg sync.WaitGroup
	conns := make(chan *websocket.Conn, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c, _, err := dialer.Dial(url, nil)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				_, _, _ = c.ReadMessage() // open
				_ = c.WriteMessage(websocket.TextMessage, []byte("40"))
				_, _, _ = c.ReadMessage() // 40{"sid":...}
				conns <- c
				go func() {
					for {
						_, b, err := c.ReadMessage()
						if err != nil {
							return
						}
						if len(b) == 1 && b[0] == '2' {
							_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
	close(conns)
	for c := range conns {
		c.Close()
	}
}

// BenchmarkMemoryAdapterRoom: room lookups in a namespace of 10,000 sockets,
// each in its own room and one of 100 shared rooms.
func BenchmarkMemoryAdapterRoom(b *testing.B) {
	srv := New(Config{Logger: quietLogger()})
	nsp := srv.Sockets()
	a := nsp.Adapter().(*MemoryAdapter)
	socks := make([]*Socket, 10_000)
	for i := range socks {
		s := &Socket{id: fmt.Sprintf("sock%05d", i), nsp: nsp}
		s.connected.Store(true)
		nsp.mu.Lock()
		nsp.sockets[s.id] = s
		nsp.mu.Unlock()
		a.AddAll(s.id, []Room{s.id, fmt.Sprintf("room:%d", i%100)})
		socks[i] = s
	}
	names := make([]Room, 100)
	for i := range names {
		names[i] = fmt.Sprintf("room:%d", i)
	}
	b.Run("HasRoom", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			j := i % len(socks)
			if !a.HasRoom(socks[j], names[j%100]) {
				b.Fatal("not in room")
			}
		}
	})
	b.Run("Sockets of a 100-member room", func(b *testing.B) {
		b.ReportAllocs()
		rooms := []Room{"room:42"}
		for b.Loop() {
			if len(a.Sockets(rooms)) != 100 {
				b.Fatal("wrong size")
			}
		}
	})
	b.Run("select room except one", func(b *testing.B) {
		b.ReportAllocs()
		opts := BroadcastOptions{Rooms: []Room{"room:7"}, Except: []Room{socks[7].id}}
		for b.Loop() {
			n := 0
			a.apply(opts, func(*Socket) { n++ })
			if n != 99 {
				b.Fatal(n)
			}
		}
	})
	b.Run("SocketRooms", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if len(a.SocketRooms(socks[i%len(socks)].id)) != 2 {
				b.Fatal("rooms")
			}
		}
	})
}
