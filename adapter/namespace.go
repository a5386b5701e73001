package adapter

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

var errUnknownType = errors.New("adapter: unknown message type")

// nsAdapter is one namespace's adapter: the in-memory adapter for the local
// part, Redis for the rest of the cluster.
type nsAdapter struct {
	*server.MemoryAdapter
	r    *Redis
	name string

	nsp *server.Namespace

	channel, requestChannel, responseChannel, specificResponseChannel string

	requestTable
}

var (
	_ server.Adapter     = (*nsAdapter)(nil)
	_ server.Distributed = (*nsAdapter)(nil)
)

func (r *Redis) newNamespace(nsp *server.Namespace) *nsAdapter {
	prefix := r.cfg.Key
	a := &nsAdapter{
		MemoryAdapter:   server.NewMemory(nsp),
		r:               r,
		name:            nsp.Name(),
		nsp:             nsp,
		channel:         prefix + "#" + nsp.Name() + "#",
		requestChannel:  prefix + "-request#" + nsp.Name() + "#",
		responseChannel: prefix + "-response#" + nsp.Name() + "#",
		requestTable:    newRequestTable(),
	}
	a.specificResponseChannel = a.responseChannel + r.uid + "#"
	r.mu.Lock()
	r.byPattern[a.channel+"*"] = a
	for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		r.byChannel[ch] = a
	}
	r.mu.Unlock()
	// go-redis records the subscriptions before sending them, so even when
	// Redis is down now they are made on (re)connection.
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.PublishTimeout)
	defer cancel()
	if err := r.ps.PSubscribe(ctx, a.channel+"*"); err != nil {
		r.log.Warn("psubscribe failed, retried on reconnection", "nsp", a.name, "err", err)
	}
	if err := r.ps.Subscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err != nil {
		r.log.Warn("subscribe failed, retried on reconnection", "nsp", a.name, "err", err)
	}
	return a
}

// Distributed implements server.Distributed.
func (a *nsAdapter) Distributed() bool { return true }

// Broadcast implements server.Adapter: local delivery now, the message to
// the other instances through the publisher queue.
func (a *nsAdapter) Broadcast(p *socketio.Packet, opts server.BroadcastOptions) {
	a.MemoryAdapter.Broadcast(p, opts)
	if opts.Flags.Local {
		return
	}
	pv, err := packetValue(p, a.name)
	if err != nil {
		a.r.log.Error("broadcast not published", "err", err)
		return
	}
	msg, err := encodeMsgpack([]any{a.r.uid, pv, optionsValue(opts, true)})
	if err != nil {
		a.r.log.Error("broadcast not published", "err", err)
		return
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	a.r.publish(channel, msg)
}

// BroadcastWithAck implements server.Adapter. The other instances report
// their client count and each client's answer (its first argument, as
// Node's adapter passes on) until the broadcast's timeout (RequestsTimeout
// when it has none).
func (a *nsAdapter) BroadcastWithAck(p *socketio.Packet, opts server.BroadcastOptions, clientCount func(int), ack func(socketio.Args)) {
	if !opts.Flags.Local {
		pv, err := packetValue(p, a.name)
		if err == nil {
			requestID := newUID(6)
			msg, err := encodeMsgpack(socketio.Map{
				Keys:   []string{"uid", "requestId", "type", "packet", "opts"},
				Values: []any{a.r.uid, requestID, float64(reqBroadcast), pv, optionsValue(opts, true)},
			})
			if err == nil {
				timeout := opts.Flags.Timeout
				if timeout <= 0 {
					timeout = a.r.cfg.RequestsTimeout
				}
				a.addAck(requestID, timeout, clientCount, ack)
				a.r.publish(a.requestChannel, msg)
			}
		}
		if err != nil {
			a.r.log.Error("broadcast with ack not published", "err", err)
		}
	}
	a.MemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
}

// ServerCount implements server.Adapter: the subscribers of the request
// channel (PUBSUB NUMSUB), as Node counts them.
func (a *nsAdapter) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := a.bound(ctx)
	defer cancel()
	res, err := a.r.cfg.Client.PubSubNumSub(ctx, a.requestChannel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[a.requestChannel]), nil
}

func (a *nsAdapter) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.r.cfg.RequestsTimeout)
}

// FetchSockets implements server.Adapter.
func (a *nsAdapter) FetchSockets(ctx context.Context, opts server.BroadcastOptions) ([]server.SocketInfo, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	requestID := newUID(6)
	p := a.addPending(requestID, reqRemoteFetch, n-1)
	defer a.removePending(requestID)
	a.r.publish(a.requestChannel, jsonMessage(socketio.Map{
		Keys:   []string{"uid", "requestId", "type", "opts"},
		Values: []any{a.r.uid, requestID, float64(reqRemoteFetch), optionsValue(opts, false)},
	}))
	if err := a.wait(ctx, p, "fetchSockets"); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append(local, p.sockets...), nil
}

// ServerSideEmit implements server.Adapter. The event goes out as JSON, as
// Node sends it, so binary arguments are refused (ErrBinaryNotAllowed).
// With ack it waits for every other instance's answer, until ctx ends or
// RequestsTimeout passes (then the answers so far and a *TimeoutError).
func (a *nsAdapter) ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]socketio.Args, error) {
	var atts [][]byte
	data, err := socketio.AppendValue(nil, append([]any{event}, args...), &atts)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		return nil, ErrBinaryNotAllowed
	}
	raw := json.RawMessage(data)
	if !withAck {
		a.r.publish(a.requestChannel, jsonMessage(socketio.Map{
			Keys:   []string{"uid", "type", "data"},
			Values: []any{a.r.uid, float64(reqServerSideEmit), raw},
		}))
		return nil, nil
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n-1 <= 0 {
		return nil, nil
	}
	requestID := newUID(6)
	p := a.addPending(requestID, reqServerSideEmit, n-1)
	defer a.removePending(requestID)
	a.r.publish(a.requestChannel, jsonMessage(socketio.Map{
		Keys:   []string{"uid", "requestId", "type", "data"},
		Values: []any{a.r.uid, requestID, float64(reqServerSideEmit), raw},
	}))
	err = a.wait(ctx, p, "serverSideEmit")
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socketio.Args(nil), p.answers...), err
}

// AddSockets implements server.Adapter.
func (a *nsAdapter) AddSockets(opts server.BroadcastOptions, rooms []server.Room) {
	a.remoteOp(opts, reqRemoteJoin, "rooms", roomsValue(rooms))
	a.MemoryAdapter.AddSockets(opts, rooms)
}

// DelSockets implements server.Adapter.
func (a *nsAdapter) DelSockets(opts server.BroadcastOptions, rooms []server.Room) {
	a.remoteOp(opts, reqRemoteLeave, "rooms", roomsValue(rooms))
	a.MemoryAdapter.DelSockets(opts, rooms)
}

// DisconnectSockets implements server.Adapter.
func (a *nsAdapter) DisconnectSockets(opts server.BroadcastOptions, close bool) {
	a.remoteOp(opts, reqRemoteDisconnect, "close", close)
	a.MemoryAdapter.DisconnectSockets(opts, close)
}

func roomsValue(rooms []server.Room) []any {
	out := make([]any, len(rooms))
	for i, r := range rooms {
		out[i] = r
	}
	return out
}

func (a *nsAdapter) remoteOp(opts server.BroadcastOptions, kind int, key string, v any) {
	if opts.Flags.Local {
		return
	}
	a.r.publish(a.requestChannel, jsonMessage(socketio.Map{
		Keys:   []string{"uid", "type", "opts", key},
		Values: []any{a.r.uid, float64(kind), optionsValue(opts, false), v},
	}))
}

// Close implements server.Adapter: the namespace's subscriptions end and
// its pending requests fail.
func (a *nsAdapter) Close() error {
	a.r.mu.Lock()
	delete(a.r.byPattern, a.channel+"*")
	for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		delete(a.r.byChannel, ch)
	}
	closed := a.r.closed
	a.r.mu.Unlock()
	a.failPending()
	if closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(a.r.ctx, a.r.cfg.PublishTimeout)
	defer cancel()
	err := a.r.ps.PUnsubscribe(ctx, a.channel+"*")
	if err2 := a.r.ps.Unsubscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err == nil {
		err = err2
	}
	return err
}
