package engineio

import (
	"runtime"

	"github.com/tradedash/realtime/internal/workq"
)

// Broadcast frames are not written by the broadcaster: they are queued on
// each recipient, which is put on the server's flush queue, and a few
// flusher goroutines (one per CPU at most, only while there is work) write
// each recipient's queue with one system call. The broadcaster is done as
// soon as every recipient has the packet queued; recipients are written
// by all CPUs at once; and a recipient that received several packets
// before its turn gets them in one write, so a busy server makes fewer
// system calls per message, not more. A socket whose send buffer is full
// goes to its own writer goroutine, as with any other write.

// newFlushQueue returns the server's flush queue: one flusher per CPU at
// most, each taking 64 sessions at a time.
func newFlushQueue() *workq.Queue[*Session] {
	return &workq.Queue[*Session]{Max: runtime.GOMAXPROCS(0), Batch: 64, Do: func(b []*Session) {
		for _, s := range b {
			s.flushQueued()
		}
	}}
}

// flushQueued writes the session's queue, as a flusher: the session's
// s.writing is set and the flusher owns the connection until it hands it
// back (or to a writer goroutine).
func (s *Session) flushQueued() {
	s.mu.Lock()
	w := s.ws
	if w == nil || w.fd == nil || w.closing || s.partial != nil || len(s.queue) == 0 {
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
