package engineio

import "time"

// A session's input is handled by a dispatcher goroutine that runs only
// while there is input (an idle connection parks none). Starting one per
// burst cost a goroutine and, for a connect, the growth of its stack
// through the middleware, the authenticator and the Redis client (8 % of
// the CPU of a connect burst). The dispatchers are pooled: a dispatcher
// whose session has no more input waits up to dispatcherIdle for another
// session before it ends, keeping its grown stack.

// dispatcherIdle is how long a dispatcher waits for another session.
const dispatcherIdle = 500 * time.Millisecond

type dispatchers struct {
	idle chan *Session // unbuffered: a send succeeds only if a dispatcher waits
}

func newDispatchers() *dispatchers { return &dispatchers{idle: make(chan *Session)} }

// run has s's input handled by a waiting dispatcher, or a new one.
func (d *dispatchers) run(s *Session) {
	select {
	case d.idle <- s:
	default:
		go d.loop(s)
	}
}

func (d *dispatchers) loop(s *Session) {
	t := time.NewTimer(dispatcherIdle)
	defer t.Stop()
	for {
		s.dispatch()
		s = nil
		t.Reset(dispatcherIdle)
		select {
		case s = <-d.idle:
		case <-t.C:
			return
		}
	}
}
