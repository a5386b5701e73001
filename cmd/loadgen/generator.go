package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/sioclient"
)

// generator owns the clients of one run.
type generator struct {
	o        options
	sessions []session

	mu      sync.Mutex
	clients []*sioclient.Client

	// onQuote, when set before connecting, receives quote:update events.
	onQuote func(k int, ev sioclient.Event)
}

// httpClient is shared by the polling clients and the producer.
func (g *generator) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 4 * g.o.n,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		WriteBufferSize:     1024,
		ReadBufferSize:      2048,
	}}
}

// connectAll connects -n clients, -concurrency at a time, each subscribed to
// watchlist:<symbol> (its ack checked), and fills the connect fields of res.
func (g *generator) connectAll(ctx context.Context, res *result) {
	var (
		hist    histogram
		next    atomic.Int64
		failed  atomic.Int64
		errMu   sync.Mutex
		errs    []string
		wg      sync.WaitGroup
		dialer  = sioclient.DefaultDialer()
		hc      *http.Client
		subArgs = mustJSON(map[string]any{"symbols": []string{g.o.symbol}})
	)
	if g.o.transport == sioclient.Polling {
		hc = g.httpClient()
	}
	pollers := g.pollers()
	g.clients = make([]*sioclient.Client, g.o.n)
	fail := func(err error) {
		failed.Add(1)
		errMu.Lock()
		if len(errs) < 5 {
			errs = append(errs, err.Error())
		}
		errMu.Unlock()
	}
	start := time.Now()
	for range min(g.o.concurrency, g.o.n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= g.o.n || ctx.Err() != nil {
					return
				}
				s := g.sessions[k%len(g.sessions)]
				cfg := sioclient.Config{
					URL: g.o.url, Transport: g.o.transport, Dialer: dialer, HTTPClient: hc, RawPolling: true,
					Auth:    s.auth,
					Timeout: 30 * time.Second,
				}
				if len(pollers) > 0 {
					cfg.Poller = pollers[k%len(pollers)]
				}
				if g.onQuote != nil {
					on := g.onQuote
					cfg.OnEvent = func(ev sioclient.Event) {
						if ev.Name == "quote:update" {
							on(k, ev)
						}
					}
				}
				t0 := time.Now()
				c, err := sioclient.Dial(ctx, cfg)
				if err != nil {
					fail(err)
					continue
				}
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				ack, err := c.EmitWithAck(actx, "subscribe:watchlist", subArgs)
				cancel()
				if err == nil && !bytes.Contains(ack, []byte(`"ok":true`)) {
					err = fmt.Errorf("subscribe refused: %.200s", ack)
				}
				if err != nil {
					_ = c.Close()
					fail(err)
					continue
				}
				hist.record(k, time.Since(t0))
				g.mu.Lock()
				g.clients[k] = c
				g.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := hist.summary()
	res.Connected = int(s.Count)
	res.ConnectFailed = int(failed.Load())
	res.ConnectErrors = errs
	res.ConnectsPerSec = round3(float64(s.Count) / elapsed.Seconds())
	res.ConnectLatency = &s
}

// pollers reads the WebSocket clients' input: one epoll reader per CPU
// instead of a goroutine per client (none where epoll is missing).
func (g *generator) pollers() []*netpoll.Poller {
	var ps []*netpoll.Poller
	for range runtime.GOMAXPROCS(0) {
		p, err := netpoll.New()
		if err != nil {
			break
		}
		ps = append(ps, p)
	}
	return ps
}

// live returns the connected clients.
func (g *generator) live() []*sioclient.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*sioclient.Client, 0, len(g.clients))
	for _, c := range g.clients {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// countDropped counts clients whose connection has ended.
func (g *generator) countDropped() int64 {
	var n int64
	for _, c := range g.live() {
		if c.Err() != nil {
			n++
		}
	}
	return n
}

func (g *generator) closeAll() {
	// Exiting closes every socket at once; closing one by one only costs
	// time. Nothing to do.
}

// mustJSON encodes v, which cannot fail to encode, once: clients send the
// bytes as they are (sioclient takes a json.RawMessage without encoding
// it again).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
