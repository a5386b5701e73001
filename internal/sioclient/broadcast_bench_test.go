package sioclient

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBroadcast profiles the server's fan-out path in-process: 1000
// WebSocket clients in one room (the real server package, handlers and
// memory limiters), each iteration one EmitToRoom that every client
// receives. Run with -cpuprofile/-memprofile and look at the server
// packages (the clients run in the same process):
//
//	go test -run '^$' -bench Broadcast -benchtime 2000x -cpuprofile cpu.out -memprofile mem.out ./internal/sioclient/
func BenchmarkBroadcast(b *testing.B) {
	const n = 1000
	ts := startServerTB(b, 25*time.Second)
	var got atomic.Int64
	done := make(chan struct{}, 1)
	var want atomic.Int64
	on := func(ev Event) {
		if ev.Name == "quote:update" && got.Add(1) == want.Load() {
			done <- struct{}{}
		}
	}
	dialer := DefaultDialer()
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := Dial(ctx, Config{URL: ts.URL, Dialer: dialer, OnEvent: on,
			Auth: map[string]any{"sessionID": "good", "userId": "b" + strconv.Itoa(i)}})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		if _, err := c.EmitWithAck(ctx, "subscribe:watchlist", map[string]any{"symbols": []string{"BENCH"}}); err != nil {
			cancel()
			b.Fatal(err)
		}
		cancel()
		b.Cleanup(func() { _ = c.Close() })
	}
	quote := map[string]any{"symbol": "BENCH", "quote": map[string]any{"price": 101.25, "change": 0.5, "t": 0}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		want.Store(int64(i+1) * n)
		if err := ts.srv.EmitToRoom("watchlist:BENCH", "quote:update", quote); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			b.Fatalf("iteration %d: %d of %d deliveries", i, got.Load(), want.Load())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
