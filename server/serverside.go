package server

import (
	"context"

	"github.com/tradedash/realtime/server/socketio"
)

// ServerSideHandler handles an event another server instance sent with
// ServerSideEmit (Node's io.on(event) for server-side events). ack is nil
// unless the sender waits for answers; only its first call counts.
type ServerSideHandler func(ctx context.Context, args socketio.Args, ack func(arg any))

// OnServerSideEmit registers the handler of a server-side event.
func (n *Namespace) OnServerSideEmit(event string, h ServerSideHandler) {
	n.mu.Lock()
	if n.serverSide == nil {
		n.serverSide = make(map[string]ServerSideHandler)
	}
	n.serverSide[event] = h
	n.mu.Unlock()
}

// DeliverServerSideEmit runs the handler of a server-side event received
// from another instance; adapters call it. It reports whether a handler was
// registered.
func (n *Namespace) DeliverServerSideEmit(event string, args socketio.Args, ack func(arg any)) bool {
	n.mu.RLock()
	h := n.serverSide[event]
	n.mu.RUnlock()
	if h == nil {
		return false
	}
	n.safeCall("server-side event", func() { h(n.srv.ctx, args, ack) })
	return true
}

// ServerSideEmit sends an event to the same namespace on every other
// instance (a no-op with the in-memory adapter).
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if socketio.IsReservedEvent(event) {
		return ErrReservedName
	}
	_, err := n.adapter.ServerSideEmit(ctx, event, args, false)
	return err
}

// ServerSideEmitWithAck sends a server-side event and waits for every other
// instance's answer (or ctx, or the adapter's request timeout).
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]socketio.Args, error) {
	if socketio.IsReservedEvent(event) {
		return nil, ErrReservedName
	}
	return n.adapter.ServerSideEmit(ctx, event, args, true)
}

// NextAckID returns a fresh ack id of the namespace, for adapters that
// deliver broadcasts with acks started on other instances.
func (n *Namespace) NextAckID() int64 { return n.nextAckID() }
