package adapter

import (
	"context"
	"encoding/json"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// core is what a namespace's adapter does the same in both wire modes:
// the in-memory adapter for the local part, the requests waiting for
// other instances, and the flows that ask the cluster and collect its
// answers. What differs (how a message is encoded and where it goes, how
// instances are counted) comes from its wire.
type core struct {
	*server.MemoryAdapter
	r    *Redis
	nsp  *server.Namespace
	name string
	wire clusterWire

	requestTable
}

// clusterWire is one wire mode's side of a namespace adapter: classic
// (nsAdapter) or sharded (shardedNS). The message methods encode a
// request of ours and say where it goes; they do not publish.
type clusterWire interface {
	// countServers is how many instances serve the namespace, this one
	// included.
	countServers(ctx context.Context) (int, error)
	// newRequestID is a fresh id for a request of ours.
	newRequestID() string
	broadcastMessage(p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error)
	broadcastAckMessage(requestID string, p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error)
	fetchMessage(requestID string, opts server.BroadcastOptions) (outgoing, error)
	// emitData is a server-side event [event, ...args] as emitMessage
	// carries it; an error here fails ServerSideEmit before anything is
	// sent.
	emitData(event string, args []any) (any, error)
	// emitMessage carries a server-side event, with requestID "" when no
	// answer is wanted.
	emitMessage(requestID string, data any) (outgoing, error)
	// roomsMessage asks for a join (reqRemoteJoin), a leave
	// (reqRemoteLeave) or a disconnection (reqRemoteDisconnect, v the
	// close flag; else v the rooms).
	roomsMessage(kind int, opts server.BroadcastOptions, v any) (outgoing, error)
}

func newCore(r *Redis, nsp *server.Namespace, wire clusterWire) core {
	return core{
		MemoryAdapter: server.NewMemory(nsp),
		r:             r,
		nsp:           nsp,
		name:          nsp.Name(),
		wire:          wire,
		requestTable:  newRequestTable(),
	}
}

// Distributed implements server.Distributed.
func (c *core) Distributed() bool { return true }

// close ends a namespace's adapter: forget drops its channels from the
// Redis adapter's tables (called under their lock), its pending requests
// fail, and unsubscribe ends its subscriptions unless the Redis adapter is
// closed already.
func (c *core) close(forget func(), unsubscribe func(ctx context.Context) error) error {
	c.r.mu.Lock()
	forget()
	closed := c.r.closed
	c.r.mu.Unlock()
	c.failPending()
	if closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.r.ctx, c.r.cfg.PublishTimeout)
	defer cancel()
	return unsubscribe(ctx)
}

// send publishes a message of ours, or logs why it could not be built.
func (c *core) send(what string, m outgoing, err error) {
	if err != nil {
		c.r.log.Error(what+" not published", "err", err)
		return
	}
	c.r.publish(m.channel, m.payload)
}

// Broadcast implements server.Adapter: local delivery now, the message to
// the other instances through the publisher queue.
func (c *core) Broadcast(p *socketio.Packet, opts server.BroadcastOptions) {
	c.MemoryAdapter.Broadcast(p, opts)
	if opts.Flags.Local {
		return
	}
	m, err := c.wire.broadcastMessage(p, opts)
	c.send("broadcast", m, err)
}

// BroadcastWithAck implements server.Adapter. The other instances report
// their client count and each client's answer (its first argument, as
// Node's adapter passes on) until the broadcast's timeout (RequestsTimeout
// when it has none).
func (c *core) BroadcastWithAck(p *socketio.Packet, opts server.BroadcastOptions, clientCount func(int), ack func(socketio.Args)) {
	if !opts.Flags.Local {
		requestID := c.wire.newRequestID()
		m, err := c.wire.broadcastAckMessage(requestID, p, opts)
		if err == nil {
			timeout := opts.Flags.Timeout
			if timeout <= 0 {
				timeout = c.r.cfg.RequestsTimeout
			}
			c.addAck(requestID, timeout, clientCount, ack)
		}
		c.send("broadcast with ack", m, err)
	}
	c.MemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
}

// ServerCount implements server.Adapter, as Node counts: the subscribers
// of a channel every instance subscribes to.
func (c *core) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.wire.countServers(ctx)
}

// bound gives ctx RequestsTimeout when it has no deadline.
func (c *core) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.r.cfg.RequestsTimeout)
}

// ask publishes a request to the other instances, when there are any, and
// waits for all their answers (until ctx ends: then a *TimeoutError).
// It returns nil when this instance is alone.
func (c *core) ask(ctx context.Context, kind pendingKind, op string, message func(requestID string) (outgoing, error)) (*pending, error) {
	n, err := c.ServerCount(ctx)
	if err != nil || n <= 1 {
		return nil, err
	}
	requestID := c.wire.newRequestID()
	p := c.addPending(requestID, kind, n-1)
	defer c.removePending(requestID)
	m, err := message(requestID)
	c.send(op, m, err)
	return p, c.wait(ctx, p, op)
}

// FetchSockets implements server.Adapter.
func (c *core) FetchSockets(ctx context.Context, opts server.BroadcastOptions) ([]server.SocketInfo, error) {
	local, _ := c.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	p, err := c.ask(ctx, pendingFetch, "fetchSockets", func(requestID string) (outgoing, error) {
		return c.wire.fetchMessage(requestID, opts)
	})
	if err != nil {
		return nil, err
	}
	if p == nil { // no other instance
		return local, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(local, p.sockets...), nil
}

// ServerSideEmit implements server.Adapter. With ack it waits for every
// other instance's answer, until ctx ends or RequestsTimeout passes (then
// the answers so far and a *TimeoutError).
func (c *core) ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]socketio.Args, error) {
	data, err := c.wire.emitData(event, args)
	if err != nil {
		return nil, err
	}
	if !withAck {
		m, err := c.wire.emitMessage("", data)
		c.send("serverSideEmit", m, err)
		return nil, nil
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	p, err := c.ask(ctx, pendingEmit, "serverSideEmit", func(requestID string) (outgoing, error) {
		return c.wire.emitMessage(requestID, data)
	})
	if p == nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]socketio.Args(nil), p.answers...), err
}

// AddSockets implements server.Adapter.
func (c *core) AddSockets(opts server.BroadcastOptions, rooms []server.Room) {
	c.remoteOp(opts, reqRemoteJoin, roomsValue(rooms))
	c.MemoryAdapter.AddSockets(opts, rooms)
}

// DelSockets implements server.Adapter.
func (c *core) DelSockets(opts server.BroadcastOptions, rooms []server.Room) {
	c.remoteOp(opts, reqRemoteLeave, roomsValue(rooms))
	c.MemoryAdapter.DelSockets(opts, rooms)
}

// DisconnectSockets implements server.Adapter.
func (c *core) DisconnectSockets(opts server.BroadcastOptions, close bool) {
	c.remoteOp(opts, reqRemoteDisconnect, close)
	c.MemoryAdapter.DisconnectSockets(opts, close)
}

// remoteOp asks the other instances for a join, a leave or a
// disconnection, unless the operation is local.
func (c *core) remoteOp(opts server.BroadcastOptions, kind int, v any) {
	if opts.Flags.Local {
		return
	}
	m, err := c.wire.roomsMessage(kind, opts, v)
	c.send("rooms operation", m, err)
}

func roomsValue(rooms []server.Room) []any {
	out := make([]any, len(rooms))
	for i, r := range rooms {
		out[i] = r
	}
	return out
}

// localSocketsValue is the answer to a fetchSockets request: the local
// sockets opts selects, as Node's adapter describes them.
func (c *core) localSocketsValue(opts server.BroadcastOptions) []any {
	local := c.MemoryAdapter.LocalSockets(opts)
	sockets := make([]any, 0, len(local))
	for _, s := range local {
		info := s.Info()
		sockets = append(sockets, socketio.Map{
			Keys:   []string{"id", "handshake", "rooms", "data"},
			Values: []any{info.ID, nodeHandshake(info.Handshake), roomsValue(info.Rooms), json.RawMessage(info.Data)},
		})
	}
	return sockets
}

// broadcastForAck delivers another instance's broadcast with acks to the
// local sockets; clientCount and ack send the answers back.
func (c *core) broadcastForAck(packet any, opts server.BroadcastOptions, clientCount func(n int), ack func(arg any)) error {
	p, err := packetFromValue(packet, c.name)
	if err != nil {
		return err
	}
	p.ID = c.nsp.NextAckID()
	c.MemoryAdapter.BroadcastWithAck(p, opts, clientCount, func(args socketio.Args) { ack(firstArg(args)) })
	return nil
}
