package engineio

import "sync"

// Broadcast frames are not written by the broadcaster: they are queued on
// each recipient, which is put on the server's flush queue, and a few
// flusher goroutines (one per CPU at most, only while there is work) write
// each recipient's queue with one system call. The broadcaster is done as
// soon as every recipient has the packet queued; recipients are written
// by all CPUs at once; and a recipient that received several packets
// before its turn gets them in one write, so a busy server makes fewer
// system calls per message, not more. A socket whose send buffer is full
// goes to its own writer goroutine, as with any other write.

// flushBatch is how many sessions a flusher takes off the queue at a time.
const flushBatch = 64

type flushQueue struct {
	mu      sync.Mutex
	q       []*Session
	head    int
	running int // flusher goroutines
	max     int
}

// push queues s, whose s.writing the caller set, and starts a flusher if
// fewer than max run.
func (f *flushQueue) push(s *Session) {
	f.mu.Lock()
	f.q = append(f.q, s)
	start := f.running < f.max
	if start {
		f.running++
	}
	f.mu.Unlock()
	if start {
		go f.run()
	}
}

// run flushes queued sessions until the queue is empty, then ends.
func (f *flushQueue) run() {
	var batch [flushBatch]*Session
	for {
		f.mu.Lock()
		n := copy(batch[:], f.q[f.head:])
		clear(f.q[f.head : f.head+n])
		f.head += n
		if f.head == len(f.q) {
			f.q, f.head = f.q[:0], 0
		}
		if n == 0 {
			f.running--
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		for i, s := range batch[:n] {
			s.flushQueued()
			batch[i] = nil
		}
	}
}

// flushQueued writes the session's queue, as a flusher: the session's
// s.writing is set and the flusher owns the connection until it hands it
// back (or to a writer goroutine).
func (s *Session) flushQueued() {
	s.mu.Lock()
	w := s.ws
	if w == nil || w.raw == nil || w.closing || s.partial != nil || len(s.queue) == 0 {
		if w != nil && (w.closing || s.partial != nil || len(s.queue) > 0) {
			// The writer goroutine ends the connection, or writes what a
			// non-blocking write cannot.
			go s.writeLoop(w)
		} else {
			s.writing = false
		}
		s.mu.Unlock()
		return
	}
	batch := s.queue
	s.queue, s.spare = s.spare, nil
	s.queued = 0
	s.mu.Unlock()
	s.writeInline(batch, true)
}
