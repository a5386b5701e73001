package main

import (
	"math"
	"sync"
	"time"
)

// histogram records durations in log buckets of 2% width from 1 µs; it is
// sharded so that thousands of reader goroutines rarely contend.
type histogram struct {
	shards [64]histShard
}

type histShard struct {
	mu      sync.Mutex
	buckets [histBuckets]uint64
	n       uint64
	max     time.Duration
	_       [64]byte
}

const (
	histBuckets = 1000
	histGrowth  = 1.02
)

var logGrowth = math.Log(histGrowth)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	b := int(math.Log(us)/logGrowth) + 1
	return min(b, histBuckets-1)
}

// bucketValue is a bucket's representative (upper bound) duration.
func bucketValue(b int) time.Duration {
	if b == 0 {
		return time.Microsecond
	}
	return time.Duration(math.Pow(histGrowth, float64(b)) * float64(time.Microsecond))
}

// record adds d to shard k (any int; callers pass a per-client number).
func (h *histogram) record(k int, d time.Duration) {
	s := &h.shards[k&63]
	s.mu.Lock()
	s.buckets[bucketOf(d)]++
	s.n++
	if d > s.max {
		s.max = d
	}
	s.mu.Unlock()
}

// summary is what the JSON result shows of a histogram, in milliseconds.
type summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *histogram) summary() summary {
	var all [histBuckets]uint64
	var n uint64
	var max time.Duration
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for b, c := range s.buckets {
			all[b] += c
		}
		n += s.n
		max = maxDur(max, s.max)
		s.mu.Unlock()
	}
	out := summary{Count: n, Max: ms(max)}
	if n == 0 {
		return out
	}
	q := func(p float64) float64 {
		want := uint64(math.Ceil(p * float64(n)))
		var acc uint64
		for b, c := range all {
			acc += c
			if acc >= want {
				return math.Min(ms(bucketValue(b)), ms(max))
			}
		}
		return ms(max)
	}
	out.P50, out.P99 = q(0.50), q(0.99)
	return out
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
