package wsbench

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// rawClient is a minimal WebSocket client: a TCP connection that did the
// handshake and counts the frames it reads. Its cost is the same whatever
// library the server uses.
type rawClient struct {
	conn net.Conn
}

func dial(tb testing.TB, addr string, got *atomic.Int64) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(k[:]) + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 512)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			tb.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	go func() {
		// Unmasked server frames: 2-byte header (+2 for 126..65535), payload.
		var hdr [4]byte
		buf := make([]byte, 512)
		for {
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return
			}
			n := int(hdr[1] & 0x7f)
			if n == 126 {
				if _, err := io.ReadFull(br, hdr[2:4]); err != nil {
					return
				}
				n = int(hdr[2])<<8 | int(hdr[3])
			}
			for n > 0 {
				m := min(n, len(buf))
				if _, err := io.ReadFull(br, buf[:m]); err != nil {
					return
				}
				n -= m
			}
			if got != nil {
				got.Add(1)
			}
		}
	}()
	return &rawClient{conn: c}
}

// server abstracts the library under test.
type server interface {
	handler() http.Handler
	count() int
	broadcast(payload []byte)
	close()
}

type gorillaServer struct {
	up    websocket.Upgrader
	mu    sync.Mutex
	conns []*websocket.Conn
}

func newGorilla() *gorillaServer {
	return &gorillaServer{up: websocket.Upgrader{WriteBufferPool: &sync.Pool{}}}
}

func (s *gorillaServer) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		// The reader, as the server runs one per connection.
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
}

func (s *gorillaServer) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.conns) }

func (s *gorillaServer) broadcast(p []byte) {
	pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.WritePreparedMessage(pm)
	}
}

func (s *gorillaServer) close() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

type gwsServer struct {
	gws.BuiltinEventHandler
	up    *gws.Upgrader
	mu    sync.Mutex
	conns []*gws.Conn
}

func newGWS() *gwsServer {
	s := &gwsServer{}
	s.up = gws.NewUpgrader(s, &gws.ServerOption{})
	return s
}

func (s *gwsServer) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.up.Upgrade(w, r)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		c.ReadLoop()
	})
}

func (s *gwsServer) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.conns) }

func (s *gwsServer) broadcast(p []byte) {
	b := gws.NewBroadcaster(gws.OpcodeText, p)
	s.mu.Lock()
	for _, c := range s.conns {
		_ = b.Broadcast(c)
	}
	s.mu.Unlock()
	_ = b.Close()
}

func (s *gwsServer) close() {
	for _, c := range s.conns {
		_ = c.NetConn().Close()
	}
}

var libs = []struct {
	name string
	new  func() server
}{
	{"gorilla", func() server { return newGorilla() }},
	{"gws", func() server { return newGWS() }},
}

func connectAll(tb testing.TB, s server, n int, got *atomic.Int64) (*httptest.Server, []*rawClient) {
	ts := httptest.NewServer(s.handler())
	addr := strings.TrimPrefix(ts.URL, "http://")
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dial(tb, addr, got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.count() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d connections upgraded", s.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ts, clients
}

// BenchmarkBroadcast sends one 120-byte text message to N connections per
// iteration and waits until every client has read it: ns/op divided by N
// is the cost of one delivery.
func BenchmarkBroadcast(b *testing.B) {
	payload := []byte(`42["quote:update",{"symbol":"AAPL","quote":{"price":189.51,"change":0.42,"changePercent":0.22,"timestamp":"2026-11-27T09:31:12.045Z"}}]`)[:120]
	for _, lib := range libs {
		for _, n := range []int{1000, 5000} {
			b.Run(fmt.Sprintf("%s/N=%d", lib.name, n), func(b *testing.B) {
				var got atomic.Int64
				s := lib.new()
				ts, clients := connectAll(b, s, n, &got)
				defer func() {
					s.close()
					for _, c := range clients {
						_ = c.conn.Close()
					}
					ts.Close()
				}()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.broadcast(payload)
					want := int64(n) * int64(i+1)
					for got.Load() < want {
						runtime.Gosched()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
			})
		}
	}
}

// BenchmarkIdleMemory reports the server-side heap and stack an idle
// upgraded connection costs (the raw clients' own cost, measured against a
// server that only holds the TCP connection, is subtracted).
func BenchmarkIdleMemory(b *testing.B) {
	const n = 2000
	measure := func(s server) float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ts, clients := connectAll(b, s, n, nil)
		runtime.GC()
		runtime.ReadMemStats(&after)
		s.close()
		for _, c := range clients {
			_ = c.conn.Close()
		}
		ts.Close()
		used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
		return float64(used) / n
	}
	base := measure(newHolder())
	for _, lib := range libs {
		b.Run(lib.name, func(b *testing.B) {
			var per float64
			for i := 0; i < b.N; i++ {
				per = measure(lib.new()) - base
			}
			b.ReportMetric(per, "B/conn")
		})
	}
}

// holder answers the handshake and keeps the connection with no library:
// the baseline of BenchmarkIdleMemory.
type holder struct {
	mu    sync.Mutex
	conns []net.Conn
}

func newHolder() *holder { return &holder{} }

func (h *holder) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
		_ = rw.Flush()
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.mu.Unlock()
	})
}

func (h *holder) count() int       { h.mu.Lock(); defer h.mu.Unlock(); return len(h.conns) }
func (h *holder) broadcast([]byte) {}
func (h *holder) close() {
	for _, c := range h.conns {
		_ = c.Close()
	}
}
