package server

import (
	"runtime"
	"sync"
	"testing"
)

// fanOut calls fn exactly once per target, whatever the count relative to
// the chunk size and the number of goroutines.
func TestFanOutCallsEachTargetOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{0, 1, fanOutChunk - 1, 2 * fanOutChunk, 2*fanOutChunk + 1, 7*fanOutChunk + 3, 10000} {
		targets := make([]*Socket, n)
		index := make(map[*Socket]int, n)
		for i := range targets {
			targets[i] = &Socket{}
			index[targets[i]] = i
		}
		var mu sync.Mutex
		seen := make([]int, n)
		fanOut(targets, func(s *Socket) {
			mu.Lock()
			seen[index[s]]++
			mu.Unlock()
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: target %d called %d times", n, i, c)
			}
		}
	}
}
