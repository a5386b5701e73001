package adapter

import (
	"context"
	"sync"
	"time"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// requestTable holds a namespace adapter's requests waiting for other
// instances: fetchSockets and serverSideEmit with ack (requests), and
// broadcasts with acks (ackRequests).
type requestTable struct {
	mu          sync.Mutex
	requests    map[string]*pending
	ackRequests map[string]*ackPending
}

func newRequestTable() requestTable {
	return requestTable{requests: make(map[string]*pending), ackRequests: make(map[string]*ackPending)}
}

// pendingKind is what a request of ours asks, in either wire mode.
type pendingKind int

const (
	pendingFetch pendingKind = iota + 1 // fetchSockets
	pendingEmit                         // serverSideEmit with ack
)

// pending is a request of ours waiting for other instances' responses.
type pending struct {
	kind     pendingKind
	expected int
	got      int
	sockets  []server.SocketInfo
	answers  []socketio.Args
	done     chan struct{}
	closed   bool
}

type ackPending struct {
	clientCount func(int)
	ack         func(socketio.Args)
	timer       *time.Timer
}

// addAck records a broadcast with acks of ours until timeout.
func (a *requestTable) addAck(id string, timeout time.Duration, clientCount func(int), ack func(socketio.Args)) {
	ap := &ackPending{clientCount: clientCount, ack: ack}
	a.mu.Lock()
	a.ackRequests[id] = ap
	ap.timer = time.AfterFunc(timeout, func() {
		a.mu.Lock()
		delete(a.ackRequests, id)
		a.mu.Unlock()
	})
	a.mu.Unlock()
}

// isMine reports whether id is a request of ours.
func (a *requestTable) isMine(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, mine := a.requests[id]
	_, mineAck := a.ackRequests[id]
	return mine || mineAck
}

func (a *requestTable) addPending(id string, kind pendingKind, expected int) *pending {
	p := &pending{kind: kind, expected: expected, done: make(chan struct{})}
	a.mu.Lock()
	a.requests[id] = p
	a.mu.Unlock()
	return p
}

func (a *requestTable) removePending(id string) {
	a.mu.Lock()
	delete(a.requests, id)
	a.mu.Unlock()
}

// lookup returns the request of ours id names, if any: a broadcast with
// acks or another request.
func (a *requestTable) lookup(id string) (*ackPending, *pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ackRequests[id], a.requests[id]
}

// answer records one instance's answer to p: the sockets of a fetch
// (sockets, a list of socket descriptions) or the ack of a server-side
// event (data).
func (a *requestTable) answer(p *pending, sockets, data any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.closed {
		return
	}
	p.got++
	switch p.kind {
	case pendingFetch:
		list, _ := sockets.([]any)
		for _, s := range list {
			if info, ok := socketInfoOf(s); ok {
				p.sockets = append(p.sockets, info)
			}
		}
	case pendingEmit:
		p.answers = append(p.answers, argsOf(data))
	}
	p.finishLocked()
}

// finishLocked closes p when every answer is in.
func (p *pending) finishLocked() {
	if !p.closed && p.got >= p.expected {
		p.closed = true
		close(p.done)
	}
}

func (a *requestTable) failPending() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, p := range a.requests {
		if !p.closed {
			p.closed = true
			close(p.done)
		}
		delete(a.requests, id)
	}
	for id, ap := range a.ackRequests {
		ap.timer.Stop()
		delete(a.ackRequests, id)
	}
}

func (a *requestTable) wait(ctx context.Context, p *pending, op string) error {
	select {
	case <-p.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		if p.got < p.expected {
			return ErrClosed
		}
		return nil
	case <-ctx.Done():
		a.mu.Lock()
		defer a.mu.Unlock()
		return &TimeoutError{Op: op, Got: p.got, Expected: p.expected}
	}
}

// onceAck wraps the ack of a server-side event: only its first call sends.
func onceAck(send func(arg any)) func(any) {
	var once sync.Once
	return func(arg any) { once.Do(func() { send(arg) }) }
}

// deliverServerSide hands a server-side event [event, ...args] to the
// namespace's handler, on its own goroutine: a handler may itself wait on
// the cluster, whose answers come through the receiving goroutine.
func deliverServerSide(nsp *server.Namespace, packet []any, ack func(any)) {
	if len(packet) == 0 {
		return
	}
	event, ok := packet[0].(string)
	if !ok {
		return
	}
	args := argsOf(packet[1:]...)
	go nsp.DeliverServerSideEmit(event, args, ack)
}
