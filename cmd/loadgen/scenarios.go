package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradedash/realtime/internal/sioclient"
)

// serverCPU reads the server's CPU time, or 0 without -pid.
func (g *generator) serverCPU() time.Duration {
	if g.o.pid == 0 {
		return 0
	}
	d, _ := procCPU(g.o.pid)
	return d
}

func (g *generator) connectScenario(ctx context.Context, res *result) error {
	cpu0 := g.serverCPU()
	g.connectAll(ctx, res)
	if g.o.pid != 0 && res.Connected > 0 {
		res.ServerCPUPerConn = round3(float64(g.serverCPU()-cpu0) / float64(time.Microsecond) / float64(res.Connected))
	}
	return connectErr(res)
}

func connectErr(res *result) error {
	if res.Connected == 0 {
		return errors.New("no client connected")
	}
	return nil
}

func (g *generator) idleScenario(ctx context.Context, res *result) error {
	if g.o.pid == 0 {
		return errors.New("idle needs -pid")
	}
	rss0, err := procRSS(g.o.pid)
	if err != nil {
		return err
	}
	cpu0 := g.serverCPU()
	g.connectAll(ctx, res)
	if err := connectErr(res); err != nil {
		return err
	}
	res.ServerCPUPerConn = round3(float64(g.serverCPU()-cpu0) / float64(time.Microsecond) / float64(res.Connected))
	select {
	case <-time.After(g.o.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	rss1, err := procRSS(g.o.pid)
	if err != nil {
		return err
	}
	res.RSSBeforeBytes, res.RSSAfterBytes = rss0, rss1
	res.RSSPerClientKiB = round3(float64(rss1-rss0) / 1024 / float64(res.Connected))
	res.Disconnected = g.countDropped()
	return nil
}

// fanout state: per-publish receive counts in a ring, and the latency
// histogram.
const ringSize = 1 << 16

// countShards: the receive counts are kept per shard of clients (k mod
// countShards), like the other per-delivery counters, so that the Pollers
// do not update one shared counter with every delivery of a burst.
const countShards = 8

type fanout struct {
	counts      [countShards][ringSize]atomic.Int32
	expected    int32              // clients connected
	shardExpect [countShards]int32 // of which in each shard
	full        chan struct{}      // a publish reached every client
	shards      [64]fanShard       // by client number, as the histogram's
	bad         atomic.Int64       // payloads without seq/t
	hist        histogram
}

// fanShard counts the deliveries of the clients k with k&63 == its index.
// Client k is read by Poller k mod the Pollers (one per CPU), so when their
// number divides 64 (2 here) every client of a shard is read by the same
// Poller, and the Pollers do not update one shared cache line with every
// delivery.
type fanShard struct {
	delivered atomic.Int64
	lastRecv  atomic.Int64 // unix ns
	_         [48]byte
}

// delivered and lastRecv sum and take the latest over the shards.
func (f *fanout) delivered() int64 {
	var n int64
	for i := range f.shards {
		n += f.shards[i].delivered.Load()
	}
	return n
}

func (f *fanout) lastRecv() int64 {
	var last int64
	for i := range f.shards {
		last = max(last, f.shards[i].lastRecv.Load())
	}
	return last
}

var (
	seqKey = []byte(`"seq":`)
	tKey   = []byte(`"t":`)
)

// intAfter parses the integer after key in data.
func intAfter(data, key []byte) (int64, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	var n int64
	k := j
	for k < len(data) && data[k] >= '0' && data[k] <= '9' {
		n = n*10 + int64(data[k]-'0')
		k++
	}
	return n, k > j
}

func (f *fanout) onQuote(k int, ev sioclient.Event) {
	seq, ok1 := intAfter(ev.Data, seqKey)
	t, ok2 := intAfter(ev.Data, tKey)
	if !ok1 || !ok2 {
		f.bad.Add(1)
		return
	}
	f.hist.record(k, ev.At.Sub(time.Unix(0, t)))
	sh := &f.shards[k&63]
	sh.delivered.Add(1)
	for at := ev.At.UnixNano(); ; {
		last := sh.lastRecv.Load()
		if at <= last || sh.lastRecv.CompareAndSwap(last, at) {
			break
		}
	}
	sk := k & (countShards - 1)
	if f.counts[sk][seq%ringSize].Add(1) == f.shardExpect[sk] && f.count(seq) >= f.expected {
		select {
		case f.full <- struct{}{}:
		default:
		}
	}
}

// count returns how many clients received publish seq.
func (f *fanout) count(seq int64) int32 {
	var n int32
	for i := range f.counts {
		n += f.counts[i][seq%ringSize].Load()
	}
	return n
}

// reset zeroes the counts of publish seq (a ring slot reused).
func (f *fanout) reset(seq int64) {
	for i := range f.counts {
		f.counts[i][seq%ringSize].Store(0)
	}
}

func (g *generator) fanoutScenario(ctx context.Context, res *result) error {
	if g.o.emitToken == "" {
		return errors.New("fanout needs -emit-token")
	}
	f := &fanout{full: make(chan struct{}, 1)}
	g.onQuote = f.onQuote
	g.connectAll(ctx, res)
	if err := connectErr(res); err != nil {
		return err
	}
	f.expected = int32(res.Connected)
	for k, c := range g.clients {
		if c != nil {
			f.shardExpect[k&(countShards-1)]++
		}
	}
	hc := g.httpClient()
	emitURL := g.o.url + "/internal/emit"
	publish := func(seq int64) error {
		body := fmt.Appendf(nil, `{"room":"watchlist:%s","event":"quote:update","data":{"symbol":"%s","quote":{"price":101.25,"change":0.5,"seq":%d,"t":%d}}}`,
			g.o.symbol, g.o.symbol, seq, time.Now().UnixNano())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, emitURL, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.o.emitToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("emit: HTTP %d: %.200s", resp.StatusCode, b)
		}
		return nil
	}

	stopProfile, err := startProfile(g.o.cpuprofile)
	if err != nil {
		return err
	}
	cpu0, self0 := g.serverCPU(), selfCPU()
	start := time.Now()
	end := start.Add(g.o.duration)
	var seq int64
	var pubErr error
	var bursts burstStats
	if g.o.rate > 0 {
		interval := time.Duration(float64(time.Second) / g.o.rate)
		for ; ; seq++ {
			at := start.Add(time.Duration(seq) * interval)
			if !at.Before(end) {
				break
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			f.reset(seq)
			select {
			case <-f.full: // a late signal of an earlier burst
			default:
			}
			b0 := g.burstClocks()
			if pubErr = publish(seq); pubErr != nil {
				break
			}
			bursts.wait(g, f, seq, b0, start.Add(time.Duration(seq+1)*interval))
		}
	} else {
		w := int64(max(g.o.window, 1))
		sent := make([]time.Time, 0, 1024)
		for ; time.Now().Before(end) && ctx.Err() == nil; seq++ {
			if seq >= w {
				old := seq - w
				giveUp := sent[old].Add(2 * time.Second)
				for f.count(old) < f.expected && time.Now().Before(giveUp) {
					select {
					case <-f.full:
					case <-time.After(time.Until(giveUp)):
					case <-ctx.Done():
					}
				}
			}
			f.reset(seq)
			sent = append(sent, time.Now())
			if pubErr = publish(seq); pubErr != nil {
				break
			}
		}
	}
	pubEnd := time.Now()
	// drain: every delivery in, or 5 s
	want := seq * int64(f.expected)
	drainUntil := time.Now().Add(5 * time.Second)
	for f.delivered() < want && time.Now().Before(drainUntil) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	cpu1, self1 := g.serverCPU(), selfCPU()
	stopProfile()
	delivered := f.delivered()
	if delivered > 0 {
		res.LoadgenCPUPerMsg = round3(float64(self1-self0) / float64(time.Microsecond) / float64(delivered))
	}
	res.Published = seq
	res.PublishRate = round3(float64(seq) / pubEnd.Sub(start).Seconds())
	res.Expected = want
	res.Delivered = delivered
	res.Lost = max(want-delivered, 0)
	if last := f.lastRecv(); last > 0 {
		res.DeliveriesPerSec = round3(float64(delivered) / time.Unix(0, last).Sub(start).Seconds())
	}
	s := f.hist.summary()
	res.Latency = &s
	if g.o.pid != 0 && delivered > 0 {
		res.ServerCPUS = round3((cpu1 - cpu0).Seconds())
		res.ServerCPUPerMsg = round3(float64(cpu1-cpu0) / float64(time.Microsecond) / float64(delivered))
	}
	res.Burst = bursts.summary(int(f.expected))
	res.Disconnected = g.countDropped()
	if n := f.bad.Load(); n > 0 && pubErr == nil {
		pubErr = fmt.Errorf("%d quote:update payloads without seq/t", n)
	}
	return pubErr
}

// burstClocks is the wall clock and both processes' CPU clocks.
type burstClock struct {
	at               time.Time
	server, self     time.Duration
	serverOK, selfOK bool
}

func (g *generator) burstClocks() burstClock {
	c := burstClock{at: time.Now()}
	if g.o.pid != 0 {
		var err error
		c.server, err = procSchedCPU(g.o.pid)
		c.serverOK = err == nil
	}
	var err error
	c.self, err = procSchedCPU(os.Getpid())
	c.selfOK = err == nil
	return c
}

// burstStats collects what each fixed-rate publish cost.
type burstStats struct {
	wall, server, self []time.Duration
}

// wait waits until publish seq reached every client (or until the next
// publish is due: that burst is not counted), then records its cost from
// b0, the clocks read just before the publish.
func (b *burstStats) wait(g *generator, f *fanout, seq int64, b0 burstClock, next time.Time) {
	for f.count(seq) < f.expected {
		d := time.Until(next)
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-f.full:
		case <-t.C:
		}
		t.Stop()
	}
	b1 := g.burstClocks()
	b.wall = append(b.wall, time.Unix(0, f.lastRecv()).Sub(b0.at))
	if b0.serverOK && b1.serverOK {
		b.server = append(b.server, b1.server-b0.server)
	}
	if b0.selfOK && b1.selfOK {
		b.self = append(b.self, b1.self-b0.self)
	}
}

// summary returns the medians, or nil when no burst was measured.
func (b *burstStats) summary(n int) *burst {
	if len(b.wall) == 0 || n == 0 {
		return nil
	}
	med := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2]
	}
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	perUs := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Microsecond) / float64(n)) }
	s, l := med(b.server), med(b.self)
	return &burst{Count: len(b.wall), WallMs: ms(med(b.wall)), ServerCPUMs: ms(s), LoadgenCPUMs: ms(l),
		ServerCPUPerUs: perUs(s), LoadgenPerUs: perUs(l)}
}

// startProfile starts a CPU profile into path (nothing when empty) and
// returns what stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

func (g *generator) echoScenario(ctx context.Context, res *result) error {
	g.connectAll(ctx, res)
	if err := connectErr(res); err != nil {
		return err
	}
	var (
		hist   histogram
		acks   atomic.Int64
		errs   atomic.Int64
		wg     sync.WaitGroup
		start  = time.Now()
		end    = start.Add(g.o.duration)
		cpu0   = g.serverCPU()
		firstE atomic.Value
	)
	for k, c := range g.live() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := "echo-" + strconv.Itoa(k)
			for time.Now().Before(end) && ctx.Err() == nil {
				actx, cancel := context.WithTimeout(ctx, 10*time.Second)
				t0 := time.Now()
				ack, err := c.EmitWithAck(actx, "ping", payload)
				cancel()
				if err == nil && !bytes.Contains(ack, []byte(`"ok":true`)) {
					err = fmt.Errorf("ping ack %.100s", ack)
				}
				if err != nil {
					errs.Add(1)
					firstE.CompareAndSwap(nil, err.Error())
					return
				}
				hist.record(k, time.Since(t0))
				acks.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.Acks = acks.Load()
	res.AcksPerSec = round3(float64(res.Acks) / elapsed.Seconds())
	res.AckErrors = errs.Load()
	s := hist.summary()
	res.Latency = &s
	if g.o.pid != 0 && res.Acks > 0 {
		cpu := g.serverCPU() - cpu0
		res.ServerCPUS = round3(cpu.Seconds())
		res.ServerCPUPerMsg = round3(float64(cpu) / float64(time.Microsecond) / float64(res.Acks))
	}
	if e, ok := firstE.Load().(string); ok {
		return errors.New("echo: " + e)
	}
	return nil
}
