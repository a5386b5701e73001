// Package workq hands queued items, a batch at a time, to worker
// goroutines that run only while there is work: Push starts one when fewer
// than Max run, and a worker ends when it finds the queue empty. So an idle
// server parks no worker, a burst is worked on by up to Max goroutines, and
// items pushed while a batch is being worked on wait for the next one.
package workq

import "sync"

// Queue is a work queue; set its fields before the first Push.
type Queue[T any] struct {
	Max   int       // worker goroutines at most (at least 1)
	Batch int       // items a worker takes at a time (at least 1)
	Do    func([]T) // works on a batch; the slice is reused after it returns

	mu      sync.Mutex
	q       []T
	head    int
	running int
}

// Push queues v and starts a worker if fewer than Max run.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.q = append(q.q, v)
	start := q.running < max(q.Max, 1)
	if start {
		q.running++
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// run works on batches until the queue is empty, then ends.
func (q *Queue[T]) run() {
	batch := make([]T, 0, max(q.Batch, 1))
	for {
		q.mu.Lock()
		n := copy(batch[:cap(batch)], q.q[q.head:])
		clear(q.q[q.head : q.head+n])
		q.head += n
		if q.head == len(q.q) {
			q.q, q.head = q.q[:0], 0
		}
		if n == 0 {
			q.running--
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		batch = batch[:n]
		q.Do(batch)
		clear(batch)
	}
}
