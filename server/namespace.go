package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradedash/realtime/server/engineio"
	"github.com/tradedash/realtime/server/socketio"
)

// Ack answers a client's acknowledgement callback. It is nil when the client
// asked for none; a second call sends nothing.
type Ack func(args ...any)

// HandlerFunc handles one event with a payload of type T (the event's first
// argument, decoded from JSON; the zero value when absent).
type HandlerFunc[T any] func(ctx context.Context, s *Socket, payload T, ack Ack) error

// ErrorHandler receives the errors handlers return (and *DecodeError for a
// payload of the wrong shape), with the event's ack.
type ErrorHandler func(ctx context.Context, s *Socket, event string, err error, ack Ack)

// Middleware runs before a socket connects. An error refuses the connection
// with connect_error (see ConnectError).
type Middleware func(ctx context.Context, s *Socket) error

type rawHandler func(ctx context.Context, s *Socket, args socketio.Args, ack Ack) error

// Namespace is a Socket.IO namespace.
type Namespace struct {
	name    string
	srv     *Server
	adapter Adapter
	ackIDs  atomic.Int64

	mu          sync.RWMutex
	sockets     map[string]*Socket
	middlewares []Middleware
	onConnect   []func(*Socket)
	onError     ErrorHandler
	serverSide  map[string]ServerSideHandler

	handlers atomic.Pointer[map[string]rawHandler] // copy on write
}

func newNamespace(srv *Server, name string) *Namespace {
	n := &Namespace{name: name, srv: srv, sockets: make(map[string]*Socket)}
	empty := map[string]rawHandler{}
	n.handlers.Store(&empty)
	n.adapter = srv.cfg.Adapter(n)
	return n
}

// Name returns the namespace's name ("/" for the default one).
func (n *Namespace) Name() string { return n.name }

// Server returns the namespace's server.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware; middlewares run in the order added.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection registers fn to run for every socket that connects, after
// its CONNECT answer is sent.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, fn)
	n.mu.Unlock()
}

// OnError sets the handler of errors returned by event handlers.
func (n *Namespace) OnError(fn ErrorHandler) {
	n.mu.Lock()
	n.onError = fn
	n.mu.Unlock()
}

// On registers a typed handler for event on namespace n; it replaces any
// handler the event had.
func On[T any](n *Namespace, event string, h HandlerFunc[T]) {
	n.handle(event, func(ctx context.Context, s *Socket, args socketio.Args, ack Ack) error {
		var payload T
		if err := args.Decode(0, &payload); err != nil {
			return &DecodeError{Event: event, Err: err}
		}
		return h(ctx, s, payload, ack)
	})
}

// OnArgs registers a handler that receives all of an event's arguments.
func OnArgs(n *Namespace, event string, h func(ctx context.Context, s *Socket, args socketio.Args, ack Ack) error) {
	n.handle(event, h)
}

func (n *Namespace) handle(event string, h rawHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.handlers.Load()
	next := make(map[string]rawHandler, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[event] = h
	n.handlers.Store(&next)
}

// LocalSocket returns the connected socket with this id on this instance.
func (n *Namespace) LocalSocket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// LocalSockets returns the namespace's connected sockets on this instance.
func (n *Namespace) LocalSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// Len returns the number of connected sockets on this instance.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// To starts a broadcast to rooms.
func (n *Namespace) To(rooms ...Room) *BroadcastOperator {
	return newBroadcast(n, BroadcastOptions{Rooms: rooms})
}

// Except starts a broadcast to everyone but the sockets in rooms.
func (n *Namespace) Except(rooms ...Room) *BroadcastOperator {
	return newBroadcast(n, BroadcastOptions{Except: rooms})
}

// Emit broadcasts to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return newBroadcast(n, BroadcastOptions{}).Emit(event, args...)
}

func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

// add runs the middlewares for a new socket and connects it.
func (n *Namespace) add(c *client, auth json.RawMessage) {
	s := &Socket{id: engineio.GenerateID(), nsp: n, client: c, conn: c.conn, auth: auth, issued: time.Now()}
	n.mu.RLock()
	mws := n.middlewares
	n.mu.RUnlock()
	ctx := n.srv.ctx
	for _, mw := range mws {
		if err := n.runMiddleware(ctx, mw, s); err != nil {
			c.writePacket(&socketio.Packet{Type: socketio.ConnectError, Nsp: n.name, ID: socketio.NoID, Data: connectErrorJSON(err)})
			n.srv.hooks.connectRefused(n.name, err)
			return
		}
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	cbs := n.onConnect
	n.mu.Unlock()
	s.connected.Store(true)
	c.addSocket(s)
	s.Join(s.id)
	data := make([]byte, 0, 32)
	data = append(data, `{"sid":`...)
	data = socketio.AppendString(data, s.id)
	data = append(data, '}')
	c.writePacket(&socketio.Packet{Type: socketio.Connect, Nsp: n.name, ID: socketio.NoID, Data: data})
	n.srv.onSocketConnected(s)
	for _, fn := range cbs {
		n.safeCall("connection", func() { fn(s) })
	}
}

func (n *Namespace) runMiddleware(ctx context.Context, mw Middleware, s *Socket) (err error) {
	defer func() {
		if r := recover(); r != nil {
			n.srv.log.Error("panic in middleware", "panic", r, "stack", string(debug.Stack()))
			err = &ConnectError{Message: "Internal server error"}
		}
	}()
	return mw(ctx, s)
}

// connectErrorJSON is the CONNECT_ERROR payload {message, data?}.
func connectErrorJSON(err error) json.RawMessage {
	b := append([]byte(`{"message":`), socketio.AppendString(nil, err.Error())...)
	var data any
	var ce *ConnectError
	var cd connectErrorData
	switch {
	case errors.As(err, &ce):
		data = ce.Data
	case errors.As(err, &cd):
		data = cd.ConnectErrorData()
	}
	if data != nil {
		if enc, e := socketio.AppendValue(nil, data, nil); e == nil {
			b = append(b, `,"data":`...)
			b = append(b, enc...)
		}
	}
	return append(b, '}')
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
}

// dispatch runs the handler of an event packet, on the connection's reader,
// so a socket's events are handled one at a time in the order sent.
func (n *Namespace) dispatch(s *Socket, p *socketio.Packet) {
	name, args, err := socketio.SplitEvent(p)
	if err != nil {
		return
	}
	h := (*n.handlers.Load())[name]
	if h == nil {
		return
	}
	var ack Ack
	if p.ID >= 0 {
		ack = s.newAck(p.ID)
	}
	ctx := n.srv.ctx
	start := time.Now()
	err = n.call(ctx, h, s, args, ack, name)
	n.srv.hooks.event(name, time.Since(start), err)
	if err == nil {
		return
	}
	n.mu.RLock()
	onErr := n.onError
	n.mu.RUnlock()
	if onErr != nil {
		n.safeCall("error handler", func() { onErr(ctx, s, name, err, ack) })
		return
	}
	n.srv.log.Warn("event handler failed", "event", name, "socket", s.id, "err", err)
}

func (n *Namespace) call(ctx context.Context, h rawHandler, s *Socket, args socketio.Args, ack Ack, name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			n.srv.log.Error("panic in event handler", "event", name, "socket", s.id, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in handler of %q: %v", name, r)
		}
	}()
	return h(ctx, s, args, ack)
}

// safeCall runs a callback, logging a panic instead of crashing.
func (n *Namespace) safeCall(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			n.srv.log.Error("panic in "+what+" callback", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// newAck returns the ack function for a client's ack id.
func (s *Socket) newAck(id int64) Ack {
	var sent atomic.Bool
	return func(args ...any) {
		if !sent.CompareAndSwap(false, true) || !s.connected.Load() {
			return
		}
		p, err := socketio.NewAck(s.nsp.name, id, args)
		if err != nil {
			s.nsp.srv.log.Error("ack could not be encoded", "socket", s.id, "err", err)
			return
		}
		s.client.writePacket(p)
	}
}
