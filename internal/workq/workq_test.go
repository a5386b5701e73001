package workq

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every item pushed, from many goroutines, is worked on exactly once, in
// batches of at most Batch, by at most Max workers at a time; then no
// worker is left running.
func TestEveryItemOnceWithinBounds(t *testing.T) {
	const pushers, each = 8, 2000
	var (
		mu      sync.Mutex
		seen    = make(map[int]int)
		active  atomic.Int32
		maxSeen atomic.Int32
		done    sync.WaitGroup
	)
	done.Add(pushers * each)
	q := &Queue[int]{Max: 3, Batch: 16, Do: func(b []int) {
		n := active.Add(1)
		for {
			m := maxSeen.Load()
			if n <= m || maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		if len(b) == 0 || len(b) > 16 {
			t.Errorf("batch of %d", len(b))
		}
		mu.Lock()
		for _, v := range b {
			seen[v]++
		}
		mu.Unlock()
		active.Add(-1)
		for range b {
			done.Done()
		}
	}}
	var wg sync.WaitGroup
	for p := range pushers {
		wg.Go(func() {
			for i := range each {
				q.Push(p*each + i)
			}
		})
	}
	wg.Wait()
	done.Wait()
	if len(seen) != pushers*each {
		t.Fatalf("%d distinct items, want %d", len(seen), pushers*each)
	}
	for v, c := range seen {
		if c != 1 {
			t.Fatalf("item %d worked on %d times", v, c)
		}
	}
	if m := maxSeen.Load(); m > 3 {
		t.Fatalf("%d workers at once, Max is 3", m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		r := q.running
		q.mu.Unlock()
		if r == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still running with nothing queued", r)
		}
		time.Sleep(time.Millisecond)
	}
}
