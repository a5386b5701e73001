package engineio

import (
	"sync"
	"time"
)

// The frames a WebSocket session's handler sends while it handles one
// burst of input are written together when it returns: the CONNECT answer
// with what the connection handlers emit, an event's reply with its ack.
// One write(2) instead of several, and one wake-up of the client. Nothing
// waits on a handler that blocks, though: a held frame leaves after at most
// about maxHold (a watchdog releases it), and a heartbeat or a WebSocket
// pong is never held (it is queued with a wake-up, which writes what is
// held before it). Broadcast frames are not held either: they go to the
// flushers as always (and take the held frames with them).

// maxHold bounds how long a frame stays held when its handler has not
// returned.
const maxHold = time.Millisecond

// epoch is the origin of holdClock (monotonic).
var epoch = time.Now()

func holdClock() time.Duration { return time.Since(epoch) }

// hold starts holding the session's output, for a burst of input handled
// by its dispatcher. Only an open WebSocket holds.
func (s *Session) hold() {
	s.mu.Lock()
	s.holding = s.state == stateOpen && s.transport == transportWebSocket && s.ws != nil
	s.mu.Unlock()
}

// unhold ends a burst: what was held is written now.
func (s *Session) unhold() {
	s.mu.Lock()
	s.holding, s.heldAt = false, 0
	s.releaseLocked()
}

// releaseLocked starts writing the queue if nothing writes it; it unlocks
// s.mu.
func (s *Session) releaseLocked() {
	if len(s.queue) == 0 || s.writing || s.ws == nil || s.transport != transportWebSocket {
		s.mu.Unlock()
		return
	}
	s.writing = true
	s.mu.Unlock()
	s.flushQueued()
}

// holdLocked queues packets without waking the writer; the caller checked
// s.holding. It reports whether the pending output passed
// MaxBufferedBytes.
func (s *Session) holdLocked(packets []*Packet) bool {
	for _, p := range packets {
		s.queueLocked(p)
	}
	if s.heldAt == 0 {
		s.heldAt = holdClock()
	}
	if !s.watched {
		s.watched = true
		s.srv.holds.add(s)
	}
	return s.queued > s.srv.cfg.MaxBufferedBytes
}

// checkHold is the watchdog's visit: output held for maxHold or longer is
// released (and the rest of the burst is not held); it reports whether
// the session must be visited again.
func (s *Session) checkHold(now time.Duration) bool {
	s.mu.Lock()
	if s.heldAt == 0 {
		s.watched = false
		s.mu.Unlock()
		return false
	}
	if now-s.heldAt < maxHold {
		s.mu.Unlock()
		return true
	}
	s.holding, s.heldAt, s.watched = false, 0, false
	s.releaseLocked()
	return false
}

// holdWatch is a server's watchdog of held output: a goroutine that runs
// only while some session holds frames, and looks at them every maxHold/2.
type holdWatch struct {
	mu      sync.Mutex
	list    []*Session
	running bool
}

// add puts s on the watch; s.mu is held (lock order: a session's mu, then
// the watch's).
func (w *holdWatch) add(s *Session) {
	w.mu.Lock()
	w.list = append(w.list, s)
	if !w.running {
		w.running = true
		go w.run()
	}
	w.mu.Unlock()
}

func (w *holdWatch) run() {
	var batch []*Session
	for {
		time.Sleep(maxHold / 2)
		w.mu.Lock()
		batch, w.list = w.list, batch[:0]
		if len(batch) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		now := holdClock()
		var again []*Session
		for i, s := range batch {
			if s.checkHold(now) {
				again = append(again, s)
			}
			batch[i] = nil
		}
		if len(again) > 0 {
			w.mu.Lock()
			w.list = append(w.list, again...)
			w.mu.Unlock()
		}
	}
}
